"""Ingestion beyond storage: the outbox rows for journeys (once per event), the write-key cache, the SQLite
writer, robustness against random input and large batches."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.app import create_app
from api.ingest_auth import WriteKeyCache
from api.ingest_commit import GroupCommitter, UnitRunner
from api.ingest_service import AsyncSessionRunner
from domain.events.segment import SegmentMessage, parse_single
from mauntic.temporal import TemporalGateway
from store import sqlite_writer
from store.migrate import upgrade
from store.models import WriteKey
from store.workspaces import NewWorkspace
from tests.api.ingest_support import Sessions, basic, contacts, events, post, ws
from tests.conftest import make_settings
from tests.outbox_rows import outbox, publish_journey
from tests.servers import free_port

T = TypeVar("T")


# --- dispatch to journeys ----------------------------------------------------------------------------------------


async def test_new_track_events_journeys_care_about_are_queued_once(
    client: httpx.AsyncClient, auth: dict[str, str], workspace: NewWorkspace, db: Sessions
) -> None:
    await publish_journey(client, workspace.api_key, "Trial Started")
    batch: dict[str, Any] = {
        "batch": [
            {"type": "identify", "userId": "dx", "traits": {}},
            {"type": "track", "userId": "dx", "event": "Logged In"},  # no journey starts on it or waits for it
            {
                "type": "track",
                "userId": "dx",
                "event": "Trial Started",
                "properties": {"plan": "pro"},
                "messageId": "t-1",
            },
            {"type": "page", "userId": "dx", "name": "Pricing"},  # stored, never dispatched by name
        ]
    }
    await post(client, "/v1/batch", auth, batch)
    [stored] = [e for e in await events(db, ws(workspace)) if e.name == "Trial Started"]
    [queued] = await outbox(db, ws(workspace))
    assert (queued.event_id, queued.contact_id, queued.name, queued.properties) == (
        stored.id,
        stored.contact_id,
        "Trial Started",
        {"plan": "pro"},
    )
    assert queued.attempts == 0
    assert queued.parked_at is None

    batch["batch"][1]["properties"] = {"plan": "changed"}  # a retry: stored and queued with its first storing
    await post(client, "/v1/batch", auth, batch)
    assert [row.id for row in await outbox(db, ws(workspace))] == [queued.id]


async def test_ingestion_answers_without_temporal(database_url: str, workspace: NewWorkspace, db: Sessions) -> None:
    """Nothing in the request path talks to Temporal: with it unreachable, events are accepted and queued."""
    settings = make_settings(database_url, temporal_address=f"127.0.0.1:{free_port()}")
    app = create_app(settings, TemporalGateway(settings))
    auth = {"Authorization": basic(workspace.write_key)["Authorization"]}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            await publish_journey(http, workspace.api_key, "Paid")
            for n in range(5):
                body = {"userId": f"off-{n}", "event": "Paid", "messageId": f"pay-{uuid.uuid4()}"}
                assert (await http.post("/v1/track", headers=auth, json=body)).status_code == 200
    assert len(await outbox(db, ws(workspace))) == 5


# --- the write-key cache -----------------------------------------------------------------------------------------


async def test_write_key_cache_honours_revocation_after_its_ttl(workspace: NewWorkspace, db: Sessions) -> None:
    now = [1000.0]
    cache = WriteKeyCache(db, ttl=5.0, clock=lambda: now[0])
    assert await cache.workspace_for(workspace.write_key) == ws(workspace)
    assert await cache.workspace_for("wk_unknown") is None
    async with db() as session:
        await session.execute(
            update(WriteKey).where(WriteKey.workspace_id == ws(workspace)).values(revoked_at=datetime.now(UTC))  # type: ignore[arg-type]
        )
        await session.commit()
    now[0] += 4.9
    assert await cache.workspace_for(workspace.write_key) == ws(workspace)  # still cached
    now[0] += 0.2
    assert await cache.workspace_for(workspace.write_key) is None
    assert await cache.workspace_for(workspace.write_key) is None  # and not cached as valid again


# --- the SQLite writer ---------------------------------------------------------------------------------------------


async def test_sqlite_writer_keeps_the_wal_bounded(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commits never checkpoint; the background pass copies the WAL and the writer restarts it once large."""
    monkeypatch.setattr(sqlite_writer, "RESTART_ABOVE_FRAMES", 50)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(url)
    writer = sqlite_writer.SqliteWriter(url, checkpoint_every=0.05)
    try:

        def write(n: int) -> Callable[[Session], int]:
            def unit(session: Session) -> int:
                session.execute(
                    text("INSERT INTO workspace (id, name, created_at) VALUES (:id, :name, '2024-01-01')"),
                    [{"id": f"ws-{n}-{i}", "name": "x" * 500} for i in range(20)],
                )
                return int(session.execute(text("PRAGMA wal_autocheckpoint")).scalar_one())

            return unit

        autocheckpoint: set[int] = set()
        units = 0
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:  # back to back for a second: the writer is never idle
            autocheckpoint.add(await writer.run(write(units)))
            units += 1
        with sqlite3.connect(tmp_path / "w.db") as check:
            _, frames, _ = check.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            count = check.execute("SELECT count(*) FROM workspace").fetchone()[0]
        assert autocheckpoint == {0}
        assert count == units * 20
        assert frames < min(5000, units * 2)  # about 9 frames a unit were written: the WAL was started over
    finally:
        writer.close()


async def test_stored_event_ids_are_time_ordered_project_ids(
    client: httpx.AsyncClient, auth: dict[str, str], workspace: NewWorkspace, db: Sessions
) -> None:
    await post(
        client, "/v1/batch", auth, {"batch": [{"type": "track", "userId": "i", "event": f"E{n}"} for n in range(5)]}
    )
    rows = await events(db, ws(workspace))
    assert all(e.id.startswith("ev_") and len(e.id) == 29 for e in rows)


# --- robustness ----------------------------------------------------------------------------------------------------

_FIELDS = [
    "type",
    "userId",
    "anonymousId",
    "event",
    "name",
    "properties",
    "traits",
    "context",
    "timestamp",
    "sentAt",
    "messageId",
    "groupId",
    "previousId",
    "integrations",
    "batch",
    "writeKey",
    "email",
    "timezone",
]


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**63 - 1, 2**64, -(2**70), 10**30, 3.5, -0.0, 1e308])
    if kind == 3:
        return rng.choice(
            [
                "",
                " ",
                "u",
                "x" * 300,
                "a\u0000b",
                "\U0001f600",
                "2020-13-45",
                "2024-01-01T00:00:00Z",
                "not@valid",
                "a@b.io",
                "Europe/Paris",
                "track",
                "identify",
                "alias",
                "group",
                "page",
            ]
        )
    if kind in (4, 5):
        return rng.choice(_FIELDS)
    if kind == 6:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(_FIELDS): _random_json(rng, depth + 1) for _ in range(rng.randrange(7))}


@pytest.mark.parametrize("seed", range(4))
async def test_random_input_never_causes_a_server_error(
    client: httpx.AsyncClient, auth: dict[str, str], seed: int
) -> None:
    rng = random.Random(seed)
    paths = ["/v1/identify", "/v1/track", "/v1/page", "/v1/screen", "/v1/group", "/v1/alias", "/v1/batch"]
    for _ in range(60):
        body = _random_json(rng)
        if rng.random() < 0.5:
            body = {"batch": [_random_json(rng) for _ in range(rng.randrange(5))]}
        raw = json.dumps(body).encode()
        if rng.random() < 0.1:
            raw = raw[: rng.randrange(len(raw) + 1)]
        response = await client.post(rng.choice(paths), content=raw, headers=auth)
        assert response.status_code in (200, 400), (raw[:300], response.text)
        if response.status_code == 400:
            assert response.json()["error"]["code"] in {
                "malformed_json",
                "invalid_message",
                "invalid_email",
                "message_too_large",
                "batch_too_large",
            }


async def test_a_batch_of_thousands_of_small_messages(
    client: httpx.AsyncClient, auth: dict[str, str], workspace: NewWorkspace, db: Sessions
) -> None:
    batch = [{"type": "track", "userId": f"u{n % 700}", "event": "E", "messageId": f"m{n}"} for n in range(6000)]
    body = json.dumps({"batch": batch}, separators=(",", ":")).encode()
    assert len(body) < 500 * 1024
    response = await client.post("/v1/batch", content=body, headers=auth)
    assert response.status_code == 200, response.text
    assert len(await events(db, ws(workspace))) == 6000
    assert len(await contacts(db, ws(workspace))) == 700


# --- group commit --------------------------------------------------------------------------------------------------


class GatedRunner:
    """Counts transactions; the first one waits for the gate, so the requests behind it queue up."""

    def __init__(self, inner: UnitRunner) -> None:
        self.inner = inner
        self.gate = asyncio.Event()
        self.runs = 0

    async def run(self, unit: Callable[[Session], T]) -> T:
        self.runs += 1
        if self.runs == 1:
            await self.gate.wait()
        return await self.inner.run(unit)


def runner_for(database_url: str, db: Sessions) -> tuple[UnitRunner, Callable[[], None]]:
    if database_url.startswith("sqlite"):
        writer = sqlite_writer.SqliteWriter(database_url)
        return writer, writer.close
    return AsyncSessionRunner(db), lambda: None


def track(user: str, message_id: str) -> SegmentMessage:
    return parse_single({"userId": user, "event": "Queued", "messageId": message_id}, "track", datetime.now(UTC))


async def test_requests_queued_behind_a_transaction_share_the_next_one(
    workspace: NewWorkspace, database_url: str, db: Sessions
) -> None:
    inner, close = runner_for(database_url, db)
    runner = GatedRunner(inner)
    committer = GroupCommitter(runner, consumers=1)
    try:
        first = asyncio.create_task(committer.record(ws(workspace), [track("g0", "g-0")]))
        await asyncio.sleep(0.01)
        rest = [
            asyncio.create_task(committer.record(ws(workspace), [track(f"g{n}", f"g-{n}"), track("g1", "g-shared")]))
            for n in range(1, 20)
        ]
        await asyncio.sleep(0.01)
        runner.gate.set()
        results = await asyncio.gather(first, *rest)
    finally:
        close()
    assert runner.runs == 2  # one for the first request, one for the 19 that queued behind it
    assert [e.message_id for e in results[0]] == ["g-0"]
    assert [[e.message_id for e in r] for r in results[1:]] == [[f"g-{n}", "g-shared"] for n in range(1, 20)]
    assert len({r[1].id for r in results[1:]}) == 1  # the shared message id: stored once, the same row for all
    assert len(await events(db, ws(workspace))) == 21


async def test_a_failing_request_does_not_fail_its_group(
    workspace: NewWorkspace, database_url: str, db: Sessions
) -> None:
    inner, close = runner_for(database_url, db)
    runner = GatedRunner(inner)
    committer = GroupCommitter(runner, consumers=1)
    try:
        first = asyncio.create_task(committer.record(ws(workspace), [track("f0", "f-0")]))
        await asyncio.sleep(0.01)
        good = [asyncio.create_task(committer.record(ws(workspace), [track(f"f{n}", f"f-{n}")])) for n in (1, 2, 3)]
        bad = asyncio.create_task(committer.record("ws_that_does_not_exist", [track("f9", "f-9")]))
        await asyncio.sleep(0.01)
        runner.gate.set()
        stored = await asyncio.gather(first, *good)
        with pytest.raises(IntegrityError):
            await bad
    finally:
        close()
    assert [r[0].message_id for r in stored] == ["f-0", "f-1", "f-2", "f-3"]
    assert sorted(e.message_id for e in await events(db, ws(workspace))) == ["f-0", "f-1", "f-2", "f-3"]
