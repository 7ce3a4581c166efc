"""A batch never loses its good messages: invalid ones are set aside in an inspectable store, the rest accepted."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from domain.clock import utcnow
from domain.events.segment import RejectedMessage
from store.ingest_rejections import record_rejections
from store.models import IngestRejection
from store.workspaces import NewWorkspace
from tests.api.ingest_support import Sessions, contacts, events, ws

GOOD_IDENTIFY = {"type": "identify", "userId": "u1", "traits": {"email": "good@example.com"}, "messageId": "m1"}
GOOD_TRACK = {"type": "track", "userId": "u1", "event": "Signed Up", "messageId": "m2"}
BAD_EMAIL = {"type": "identify", "userId": "u2", "traits": {"email": "not-an-email"}, "messageId": "m3"}


async def _rejections(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/ingest/rejections", headers=headers, params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_one_bad_message_does_not_drop_the_batch(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    admin_headers: dict[str, str],
    workspace: NewWorkspace,
    db: Sessions,
) -> None:
    batch = {"batch": [GOOD_IDENTIFY, BAD_EMAIL, GOOD_TRACK, {"type": "track", "userId": "u1"}]}
    response = await client.post("/v1/batch", headers=auth, json=batch)
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "rejected": 2}
    stored = await events(db, ws(workspace))
    assert sorted(e.message_id for e in stored) == ["m1", "m2"]
    assert [c.email for c in await contacts(db, ws(workspace))] == ["good@example.com"]

    page = await _rejections(client, admin_headers)
    assert [(r["batch_index"], r["code"]) for r in page["data"]] == [(3, "invalid_message"), (1, "invalid_email")]
    bad = page["data"][1]
    assert (bad["endpoint"], bad["message_id"], bad["raw_truncated"]) == ("batch", "m3", False)
    assert json.loads(bad["raw"]) == BAD_EMAIL
    assert "batch[1]" in bad["reason"]
    assert "email" in bad["reason"]

    # The client's retry of the same request stores nothing twice and records the rejections once.
    again = await client.post("/v1/batch", headers=auth, json=batch)
    assert again.json() == {"success": True, "rejected": 2}
    assert len(await events(db, ws(workspace))) == 2
    assert len((await _rejections(client, admin_headers))["data"]) == 2


async def test_a_batch_of_only_good_messages_answers_exactly_as_segment(
    client: httpx.AsyncClient, auth: dict[str, str], admin_headers: dict[str, str]
) -> None:
    response = await client.post("/v1/batch", headers=auth, json={"batch": [GOOD_IDENTIFY, GOOD_TRACK]})
    assert response.content == b'{"success": true}'
    assert (await _rejections(client, admin_headers))["data"] == []


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"messages": []}', b'{"batch": {"type": "track"}}', b'{"batch": [], "context": []}', b"[]"],
)
async def test_a_body_that_is_no_batch_is_still_400(
    client: httpx.AsyncClient, auth: dict[str, str], admin_headers: dict[str, str], body: bytes
) -> None:
    response = await client.post("/v1/batch", headers={**auth, "Content-Type": "application/json"}, content=body)
    assert response.status_code == 400, response.text
    assert (await _rejections(client, admin_headers))["data"] == []


async def test_a_single_invalid_message_is_400_and_recorded(
    client: httpx.AsyncClient, auth: dict[str, str], admin_headers: dict[str, str]
) -> None:
    response = await client.post("/v1/identify", headers=auth, json={"userId": "u", "traits": {"email": "x"}})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_email")
    (row,) = (await _rejections(client, admin_headers))["data"]
    assert (row["endpoint"], row["batch_index"], row["code"]) == ("identify", None, "invalid_email")


async def test_hostile_rejected_messages_are_stored_and_read_back_safely(
    client: httpx.AsyncClient, auth: dict[str, str], admin_headers: dict[str, str]
) -> None:
    """NUL, lone surrogates and huge messages are often why a message is refused; none may break the store or
    the listing (PostgreSQL text holds no NUL, UTF-8 no lone surrogate)."""
    nul = b'{"type": "track", "userId": "nul\\u0000", "event": "E", "messageId": "id\\u0000\\udcff"}'
    surrogate = b'{"type": "identify", "userId": "u", "traits": {"email": "\\udcff@x.io"}}'
    huge = json.dumps({"type": "track", "userId": "u", "event": "E", "p": ["x" * 1000] * 40}).encode()
    body = b'{"batch": [' + b",".join([nul, surrogate, huge]) + b"]}"
    response = await client.post("/v1/batch", headers={**auth, "Content-Type": "application/json"}, content=body)
    assert response.json() == {"success": True, "rejected": 3}
    rows = (await _rejections(client, admin_headers))["data"]
    by_index = {r["batch_index"]: r for r in rows}
    assert json.loads(by_index[0]["raw"])["userId"] == "nul\x00"
    assert "\\u0000" in by_index[0]["message_id"] or "\\x00" in by_index[0]["message_id"]
    assert json.loads(by_index[1]["raw"])["traits"]["email"] == "\udcff@x.io"
    assert (by_index[2]["code"], by_index[2]["raw_truncated"]) == ("message_too_large", True)
    assert len(by_index[2]["raw"]) == 32 * 1024


async def test_rejections_page_newest_first_and_are_per_workspace(
    client: httpx.AsyncClient, auth: dict[str, str], admin_headers: dict[str, str]
) -> None:
    for n in range(5):
        await client.post("/v1/batch", headers=auth, json={"batch": [{"type": "track", "userId": f"u{n}"}]})
    first = await _rejections(client, admin_headers, limit=3)
    rest = await _rejections(client, admin_headers, limit=3, cursor=first["next_cursor"])
    assert rest["next_cursor"] is None
    users = [json.loads(r["raw"])["userId"] for r in first["data"] + rest["data"]]
    assert users == ["u4", "u3", "u2", "u1", "u0"]


async def test_rejections_are_kept_for_the_retention_period_and_up_to_the_cap(
    db: Sessions, workspace: NewWorkspace
) -> None:
    now, keep = utcnow(), timedelta(days=7)
    rows = [RejectedMessage(None, "invalid_message", "bad", {"n": n}) for n in range(6)]
    async with db() as session:
        await record_rejections(
            session, ws(workspace), "track", rows[:2], now - timedelta(days=8), keep=timedelta(days=7), cap=4
        )
        await record_rejections(session, ws(workspace), "track", rows[2:], now, keep=keep, cap=3)
        await session.commit()
        mine = col(IngestRejection.workspace_id) == ws(workspace)
        kept = await session.execute(select(col(IngestRejection.raw)).where(mine).order_by(col(IngestRejection.id)))
        assert [json.loads(raw)["n"] for raw in kept.scalars()] == [3, 4, 5]  # 8 days old: gone; then the newest 3
        total = await session.execute(select(func.count()).select_from(IngestRejection))
        assert total.scalar_one() >= 3
