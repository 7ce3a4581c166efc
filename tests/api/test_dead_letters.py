"""/v1/dead-letters on SQLite and PostgreSQL: list with filters and cursor pages, read, replay and discard (dry
runs change nothing), 409 for kinds without a replayer, 422 for a selection that is no selection."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.clock import utcnow
from domain.dead_letters.model import DeadLetterIn, DeadLetterKind
from mauntic.dead_letters.service import DeadLetterService, ReplayUnavailable
from mauntic.temporal import TemporalGateway
from store.db import create_async_db_engine, session_factory
from store.dead_letters import DeadLetterFilter, record_dead_letter
from store.workspaces import NewWorkspace
from tests.conftest import make_settings, new_workspace

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_async_db_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


def bearer(workspace: NewWorkspace) -> dict[str, str]:
    return {"Authorization": f"Bearer {workspace.api_key}"}


async def seed(db: Sessions, workspace_id: str) -> None:
    now = utcnow()
    letters = [
        DeadLetterIn(workspace_id, DeadLetterKind.CRM_PUSH, f"{workspace_id}:dlv_1", "HTTPStatusError",
                     "endpoint answered 500", now - timedelta(hours=3), {"delivery_id": "dlv_1"}, attempts=8),
        DeadLetterIn(workspace_id, DeadLetterKind.DISPATCH, f"{workspace_id}:999999:ev_1", "ValueError",
                     "ValueError('bad row')", now - timedelta(hours=2), {"outbox_id": 999999, "event_id": "ev_1"}),
        DeadLetterIn(workspace_id, DeadLetterKind.JOURNEY_STEP, f"{workspace_id}:wf:run", "UnknownStep",
                     "journey jr_1 v1 has no step 'x'", now - timedelta(hours=1), {"journey_id": "jr_1", "version": 1}),
    ]  # fmt: skip
    async with db() as session:
        for letter in letters:
            assert await record_dead_letter(session, letter)
        await session.commit()


async def test_listing_filters_and_pages(
    client: httpx.AsyncClient, db: Sessions, workspace: NewWorkspace, database_url: str
) -> None:
    await seed(db, workspace.workspace.id)
    other = await new_workspace(database_url)
    await seed(db, other.workspace.id)
    headers = bearer(workspace)

    async def kinds(**params: str) -> list[str]:
        answer = await client.get("/v1/dead-letters", headers=headers, params=params)
        assert answer.status_code == 200, answer.text
        return [item["kind"] for item in answer.json()["data"]]

    assert await kinds() == ["journey_step", "dispatch", "crm_push"]  # newest first, this workspace only
    assert await kinds(kind="dispatch") == ["dispatch"]
    assert await kinds(error="ENDPOINT ANSWERED") == ["crm_push"]
    since = (utcnow() - timedelta(minutes=150)).isoformat()
    assert await kinds(since=since) == ["journey_step", "dispatch"]
    assert await kinds(until=since) == ["crm_push"]
    assert await kinds(status="replayed") == []

    first = (await client.get("/v1/dead-letters", headers=headers, params={"limit": 2})).json()
    assert len(first["data"]) == 2
    second = (await client.get("/v1/dead-letters", headers=headers, params={"cursor": first["next_cursor"]})).json()
    assert [d["kind"] for d in second["data"]] == ["crm_push"]
    assert second["next_cursor"] is None

    item = first["data"][0]
    read = await client.get(f"/v1/dead-letters/{item['id']}", headers=headers)
    assert read.json() == item
    assert set(item) >= {"workflow_id", "run_id", "activity_id", "subject_id", "input", "attempts",
                         "first_failed_at", "last_failed_at", "resolved_at", "resolved_by"}  # fmt: skip
    foreign = (await client.get("/v1/dead-letters", headers=bearer(other))).json()["data"][0]
    assert (await client.get(f"/v1/dead-letters/{foreign['id']}", headers=headers)).json()["error"]["code"] == (
        "dead_letter_not_found"
    )
    bad = await client.get("/v1/dead-letters", headers=headers, params={"error": "a\x00b"})
    assert bad.status_code == 422
    assert (await client.get("/v1/dead-letters", headers=headers, params={"kind": "nope"})).status_code == 422


async def test_replay_and_discard(client: httpx.AsyncClient, db: Sessions, workspace: NewWorkspace) -> None:
    await seed(db, workspace.workspace.id)
    headers = bearer(workspace)
    listed = (await client.get("/v1/dead-letters", headers=headers)).json()["data"]
    by_kind = {item["kind"]: item["id"] for item in listed}

    refused = await client.post("/v1/dead-letters/replay", headers=headers, json={"kind": "crm_push"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "dead_letter_not_replayable"
    assert refused.json()["error"]["details"] == {"kinds": ["crm_push"], "ids": [by_kind["crm_push"]]}
    mixed = await client.post("/v1/dead-letters/replay", headers=headers, json={"ids": list(by_kind.values())})
    assert mixed.status_code == 409  # nothing replayed when one selected kind cannot be

    dry = await client.post("/v1/dead-letters/replay", headers=headers, json={"kind": "dispatch", "dry_run": True})
    assert dry.status_code == 200, dry.text
    [would] = dry.json()["outcomes"]
    assert (would["id"], would["action"]) == (by_kind["dispatch"], "would_replay")
    assert would["detail"] == "would un-park outbox row 999999"
    done = await client.post("/v1/dead-letters/replay", headers=headers, json={"ids": [by_kind["dispatch"], 123456789]})
    assert [o["action"] for o in done.json()["outcomes"]] == ["replayed"]
    assert done.json()["unmatched"] == [123456789]
    read = (await client.get(f"/v1/dead-letters/{by_kind['dispatch']}", headers=headers)).json()
    assert read["status"] == "replayed"
    assert read["resolved_by"].startswith("api_key:")
    assert "no longer parked" in read["resolution"]
    again = await client.post("/v1/dead-letters/replay", headers=headers, json={"ids": [by_kind["dispatch"]]})
    assert (again.json()["outcomes"], again.json()["unmatched"]) == ([], [by_kind["dispatch"]])  # not open any more

    discard = await client.post("/v1/dead-letters/discard", headers=headers, json={"kind": "crm_push"})
    assert [o["action"] for o in discard.json()["outcomes"]] == ["discarded"]
    open_now = (await client.get("/v1/dead-letters", headers=headers, params={"status": "open"})).json()["data"]
    assert [item["kind"] for item in open_now] == ["journey_step"]

    bodies: list[dict[str, Any]] = [{}, {"dry_run": True}, {"ids": [1], "kind": "send"}, {"ids": []}, {"extra": 1}]
    for body in bodies:
        answer = await client.post("/v1/dead-letters/replay", headers=headers, json=body)
        assert answer.status_code == 422, body


async def test_a_replay_while_temporal_is_down_leaves_the_item_open(db: Sessions, database_url: str) -> None:
    workspace_id = f"ws_{uuid.uuid4().hex[:10]}"
    key = f"journey:{workspace_id}:jr_1:ct_1:welcome"
    send = {"workspace_id": workspace_id, "journey_id": "jr_1", "version": 1, "step_id": "welcome",
            "contact_id": "ct_1", "idempotency_key": key}  # fmt: skip
    async with db() as session:
        await record_dead_letter(
            session, DeadLetterIn(workspace_id, DeadLetterKind.SEND, key, "ChainExhausted", "timeout", utcnow(), send)
        )
        await session.commit()
    down = TemporalGateway(make_settings(database_url, temporal_address="127.0.0.1:9"))  # nothing listens there
    service = DeadLetterService(down)
    async with db() as session:
        rows = await service.select(session, DeadLetterFilter(workspace_id=workspace_id))
        with pytest.raises(ReplayUnavailable, match="left open"):
            await service.replay(session, rows, actor="test", dry_run=False)
        [still] = await service.page(session, DeadLetterFilter(workspace_id=workspace_id), before=None, limit=5)
    assert still.status == "open"
