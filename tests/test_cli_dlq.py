"""`mauntic dlq list / show / replay / discard` as an operator runs them, on the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from domain.clock import utcnow
from domain.dead_letters.model import DeadLetterIn, DeadLetterKind
from mauntic.cli import app
from mauntic.settings import get_settings
from store.db import create_async_db_engine, session_factory
from store.dead_letters import record_dead_letter


def seed(database_url: str, workspace_id: str) -> None:
    async def insert() -> None:
        engine = create_async_db_engine(database_url)
        try:
            async with session_factory(engine)() as session:
                for kind, subject, error in (
                    (DeadLetterKind.DISPATCH, f"{workspace_id}:1:ev_1", "ValueError('bad row')"),
                    (DeadLetterKind.CRM_PUSH, f"{workspace_id}:dlv_1", "endpoint answered 500"),
                ):
                    ids = {"outbox_id": 987654321} if kind == DeadLetterKind.DISPATCH else {}
                    item = DeadLetterIn(workspace_id, kind, subject, error.split("(")[0], error, utcnow(), ids)
                    await record_dead_letter(session, item)
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(insert())


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def dlq(database_url: str, tmp_path: Path, *args: str) -> Ran:
    """The command in this process (a subprocess per call cost ~6 s of imports on a loaded machine)."""
    env = {"MAUNTIC_DATABASE_URL": database_url, "MAUNTIC_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["dlq", *args], env=env)
    get_settings.cache_clear()
    return Ran(result.exit_code, result.stdout, result.stderr)


def test_the_command_runs_as_a_program(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "MAUNTIC_DATABASE_URL": database_url, "MAUNTIC_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "mauntic", "dlq", "list", "--json", "--workspace", "ws_none"],
        env=env, capture_output=True, text=True, timeout=100,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (0, ""), result.stderr
    assert "0 dead letter(s)" not in result.stderr  # --json prints the items only


def listed(database_url: str, tmp_path: Path, *args: str) -> list[dict[str, object]]:
    result = dlq(database_url, tmp_path, "list", "--json", *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_list_show_replay_and_discard(database_url: str, tmp_path: Path) -> None:
    workspace = f"ws_{uuid.uuid4().hex[:10]}"
    seed(database_url, workspace)

    items = listed(database_url, tmp_path, "--workspace", workspace)
    assert [item["kind"] for item in items] == ["crm_push", "dispatch"]
    assert listed(database_url, tmp_path, "-w", workspace, "--error", "ANSWERED 500") == [items[0]]
    assert listed(database_url, tmp_path, "-w", workspace, "--since", "2999-01-01") == []
    table = dlq(database_url, tmp_path, "list", "-w", workspace)
    assert "crm_push" in table.stdout
    assert "2 dead letter(s)" in table.stderr
    dispatch_id = next(item["id"] for item in items if item["kind"] == "dispatch")
    shown = dlq(database_url, tmp_path, "show", str(dispatch_id), "--json")
    assert json.loads(shown.stdout)["subject_id"] == f"{workspace}:1:ev_1"
    assert dlq(database_url, tmp_path, "show", "999999999").returncode == 1

    refused = dlq(database_url, tmp_path, "replay", "-w", workspace)
    assert refused.returncode == 3
    assert "crm_push cannot be replayed yet" in refused.stderr
    dry = dlq(database_url, tmp_path, "replay", "-w", workspace, "--kind", "dispatch", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would_replay" in dry.stdout
    assert "1 would_replay" in dry.stderr
    assert listed(database_url, tmp_path, "-w", workspace, "--status", "open", "--kind", "dispatch") != []

    done = dlq(database_url, tmp_path, "replay", "-w", workspace, "--kind", "dispatch")
    assert done.returncode == 0, done.stderr
    assert "1 replayed" in done.stderr
    [replayed] = listed(database_url, tmp_path, "-w", workspace, "--kind", "dispatch")
    assert replayed["status"] == "replayed"
    assert str(replayed["resolved_by"]).startswith("cli:")

    webhook_id = str(items[0]["id"])
    assert "1 discarded" in dlq(database_url, tmp_path, "discard", webhook_id).stderr
    assert "nothing open matched" in dlq(database_url, tmp_path, "discard", webhook_id).stderr
    assert listed(database_url, tmp_path, "-w", workspace, "--status", "open") == []
    assert dlq(database_url, tmp_path, "replay").returncode == 2  # no ids and no filter: refused
    assert dlq(database_url, tmp_path, "list", "--since", "yesterday").returncode == 2
