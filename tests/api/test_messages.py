"""GET /v1/messages (the log, `?status=uncertain`), GET /v1/messages/{id}, POST .../resolve mark_sent, and the
message-log gauge of /metrics, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from domain.ids import new_id
from store.db import create_async_db_engine, session_factory
from store.models import MessageLog, MessageResolution
from store.workspaces import NewWorkspace
from tests.conftest import new_workspace

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_async_db_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


async def add_message(db: Sessions, workspace_id: str, status: str, **values: Any) -> MessageLog:
    row = MessageLog(
        id=new_id("msg"), workspace_id=workspace_id, idempotency_key=new_id("key"), to_address="ada@example.test",
        status=status, journey_id="jr_1", step_id="hello", contact_id="ct_1", **values,
    )  # fmt: skip
    async with db() as session:
        session.add(row)
        await session.commit()
    return row


def bearer(workspace: NewWorkspace) -> dict[str, str]:
    return {"Authorization": f"Bearer {workspace.api_key}"}


async def test_uncertain_messages_are_listed_page_by_page_and_readable(
    client: httpx.AsyncClient, db: Sessions, workspace: NewWorkspace, database_url: str
) -> None:
    ws = workspace.workspace.id
    first = await add_message(db, ws, "uncertain", provider="prv_a", error="the answer was lost")
    await add_message(db, ws, "sent")
    second = await add_message(db, ws, "uncertain")
    stranger = await new_workspace(database_url)
    await add_message(db, stranger.workspace.id, "uncertain")

    page1 = await client.get("/v1/messages", params={"status": "uncertain", "limit": 1}, headers=bearer(workspace))
    assert page1.status_code == 200, page1.text
    cursor = page1.json()["next_cursor"]
    page2 = await client.get(
        "/v1/messages", params={"status": "uncertain", "limit": 1, "cursor": cursor}, headers=bearer(workspace)
    )
    everything = await client.get("/v1/messages", headers=bearer(workspace))

    assert [m["id"] for m in page1.json()["data"] + page2.json()["data"]] == [first.id, second.id]
    assert page2.json()["next_cursor"] is None
    assert len(everything.json()["data"]) == 3
    listed = page1.json()["data"][0]
    assert (listed["status"], listed["provider"], listed["error"]) == ("uncertain", "prv_a", "the answer was lost")
    assert {"contact_id", "journey_id", "step_id", "channel", "to_address", "provider_message_id", "created_at"} <= set(
        listed
    )
    read = await client.get(f"/v1/messages/{first.id}", headers=bearer(workspace))
    assert read.status_code == 200
    assert read.json()["id"] == first.id
    assert (await client.get(f"/v1/messages/{first.id}", headers=bearer(stranger))).status_code == 404
    assert (await client.get("/v1/messages", params={"status": "lost"}, headers=bearer(workspace))).status_code == 422


async def test_an_operator_marks_an_uncertain_message_sent_once_and_it_is_audited(
    client: httpx.AsyncClient, db: Sessions, workspace: NewWorkspace
) -> None:
    row = await add_message(db, workspace.workspace.id, "uncertain")
    url = f"/v1/messages/{row.id}/resolve"

    resolved = await client.post(url, json={"action": "mark_sent"}, headers=bearer(workspace))
    again = await client.post(url, json={"action": "mark_sent"}, headers=bearer(workspace))
    resend_after = await client.post(url, json={"action": "resend"}, headers=bearer(workspace))

    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["message"]["status"] == "sent"
    assert resolved.json()["resolution"]["action"] == "mark_sent"
    assert (again.status_code, again.json()["error"]["code"]) == (409, "message_not_uncertain")
    assert resend_after.status_code == 409
    async with db() as session:
        audit = (
            (await session.execute(select(MessageResolution).where(col(MessageResolution.message_log_id) == row.id)))
            .scalars()
            .all()
        )
    assert [(a.action, a.api_key_id) for a in audit] == [("mark_sent", resolved.json()["resolution"]["api_key_id"])]
    assert audit[0].api_key_id.startswith("key")


async def test_only_uncertain_messages_can_be_resolved(
    client: httpx.AsyncClient, db: Sessions, workspace: NewWorkspace
) -> None:
    for status in ("sent", "pending", "sending", "failed"):
        row = await add_message(db, workspace.workspace.id, status)
        answer = await client.post(
            f"/v1/messages/{row.id}/resolve", json={"action": "mark_sent"}, headers=bearer(workspace)
        )
        assert answer.status_code == 409, status
    missing = await client.post(
        "/v1/messages/msg_nope/resolve", json={"action": "mark_sent"}, headers=bearer(workspace)
    )
    assert missing.status_code == 404
    bad = await client.post(f"/v1/messages/{row.id}/resolve", json={"action": "delete"}, headers=bearer(workspace))
    assert bad.status_code == 422


def gauge(text: str, status: str) -> float:
    match = re.search(rf'^mauntic_messages{{status="{status}"}} ([0-9.e+]+)$', text, re.MULTILINE)
    assert match, f"no mauntic_messages{{status={status!r}}} in /metrics"
    return float(match.group(1))


async def test_metrics_count_uncertain_messages_at_scrape_time(
    client: httpx.AsyncClient, db: Sessions, workspace: NewWorkspace
) -> None:
    before = gauge((await client.get("/metrics")).text, "uncertain")
    for _ in range(3):
        await add_message(db, workspace.workspace.id, "uncertain")

    after = gauge((await client.get("/metrics")).text, "uncertain")

    assert after - before == 3
