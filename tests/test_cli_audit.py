"""`mauntic audit verify` as an operator runs it (SQLite and PostgreSQL): an intact chain is ok (exit 0); an entry
edited behind the application's back is named with its sequence number (exit 1)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from mauntic.cli import app
from mauntic.settings import get_settings
from store.db import create_async_db_engine, session_factory
from tests.store.test_audit import _bypass, _record


def audit(database_url: str, tmp_path: Path, *args: str) -> tuple[int, str]:
    env = {"MAUNTIC_DATABASE_URL": database_url, "MAUNTIC_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["audit", "verify", *args], env=env)
    get_settings.cache_clear()
    return result.exit_code, result.stdout


def test_verify_passes_an_intact_chain_and_names_an_edited_entry(database_url: str, tmp_path: Path) -> None:
    ws = f"ws_{uuid.uuid4().hex[:8]}"

    async def seed_then(edit: bool) -> None:
        engine = create_async_db_engine(database_url)
        try:
            sessions = session_factory(engine)
            if not edit:
                await _record(sessions, ws, 3)
                return
            async with sessions() as session:
                await _bypass(session)
                await session.execute(
                    text("UPDATE audit_log SET document = replace(document, 'ct_1', 'ct_7') "
                         "WHERE workspace_id = :w AND seq = 2"),
                    {"w": ws},
                )  # fmt: skip
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(seed_then(edit=False))
    code, out = audit(database_url, tmp_path, "--workspace", ws)
    assert code == 0, out
    assert f"ok {ws}: 3 entries" in out

    asyncio.run(seed_then(edit=True))
    code, out = audit(database_url, tmp_path, "--workspace", ws)
    assert code == 1, out
    assert f"TAMPERED {ws}" in out
    assert "seq 2: modified" in out
