"""One-click unsubscribe over HTTP: GET confirms only, POST suppresses once, bad tokens are a 4xx page."""

from __future__ import annotations

import base64

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlmodel import col

from domain.ids import new_id
from mauntic.secrets import SecretBox
from mauntic.unsubscribe import read_unsubscribe_token, unsubscribe_url
from store.models import DeliveryEvent, MessageLog
from store.suppressions import suppression_for
from store.unsubscribes import record_unsubscribe
from store.workspaces import NewWorkspace
from tests.api.ingest_support import Sessions
from tests.conftest import TEST_SECRET_KEY
from tests.servers import serve_api

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def _path(
    workspace_id: str,
    address: str = "Ada&Co@Example.test",
    message_log_id: str | None = None,
    key: str = TEST_SECRET_KEY,
) -> str:
    url = unsubscribe_url(
        SecretBox(key),
        "http://testserver",
        workspace_id=workspace_id,
        channel="email",
        address=address,
        message_log_id=message_log_id,
    )
    return url.removeprefix("http://testserver")


async def _message_log(db: Sessions, workspace_id: str) -> MessageLog:
    log = MessageLog(
        id=new_id("msg"),
        workspace_id=workspace_id,
        idempotency_key=new_id("idem"),
        contact_id="ct_1",
        to_address="ada&co@example.test",
        provider="smtp",
        provider_message_id="<pm-1@example.test>",
        status="sent",
    )
    async with db() as session:
        session.add(log)
        await session.commit()
    return log


async def _events(db: Sessions, workspace_id: str) -> list[DeliveryEvent]:
    async with db() as session:
        result = await session.execute(select(DeliveryEvent).where(col(DeliveryEvent.workspace_id) == workspace_id))
        return list(result.scalars())


async def _suppressed(db: Sessions, workspace_id: str, address: str = "ada&co@example.test") -> bool:
    async with db() as session:
        return await suppression_for(session, workspace_id, "email", address) is not None


async def test_get_shows_a_confirmation_form_and_changes_nothing(
    client: httpx.AsyncClient, workspace: NewWorkspace, db: Sessions
) -> None:
    path = _path(workspace.workspace.id)
    for _ in range(3):  # link scanners follow GETs repeatedly
        response = await client.get(path)
        assert response.status_code == 200
    page = response.text
    assert response.headers["content-type"].startswith("text/html")
    assert '<form method="post">' in page
    assert '<input type="hidden" name="List-Unsubscribe" value="One-Click">' in page
    assert "Ada&amp;Co@Example.test" in page  # escaped
    assert "Ada&Co" not in page
    for external in ("src=", "<link", "http", "url("):  # no external resources
        assert external not in page
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert not await _suppressed(db, workspace.workspace.id)
    assert await _events(db, workspace.workspace.id) == []


async def test_one_click_post_suppresses_and_records_one_event(
    client: httpx.AsyncClient, workspace: NewWorkspace, db: Sessions
) -> None:
    log = await _message_log(db, workspace.workspace.id)
    path = _path(workspace.workspace.id, message_log_id=log.id)
    response = await client.post(path, data=ONE_CLICK)
    assert response.request.headers.get("authorization") is None
    assert response.request.headers.get("cookie") is None
    assert response.request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert "unsubscribed" in response.text
    async with db() as session:
        row = await suppression_for(session, workspace.workspace.id, "email", "ADA&CO@example.test")
    assert row is not None
    assert (row.reason, row.source) == ("unsubscribed", f"unsubscribe-link:{log.id}")

    again = await client.post(path, data=ONE_CLICK)
    assert again.status_code == 200
    [event] = await _events(db, workspace.workspace.id)
    assert (event.type, event.channel, event.provider_id) == ("unsubscribed", "email", "unsubscribe-link")
    assert (event.recipient, event.message_log_id) == ("ada&co@example.test", log.id)
    assert (event.contact_id, event.provider_message_id) == ("ct_1", "<pm-1@example.test>")


async def test_the_same_token_spelled_with_padding_is_still_one_event(
    client: httpx.AsyncClient, workspace: NewWorkspace, db: Sessions
) -> None:
    path = _path(workspace.workspace.id)
    padded = path + "=" * (-len(path.rsplit("/", 1)[1]) % 4)
    for each in {path, padded}:
        assert (await client.post(each, data=ONE_CLICK)).status_code == 200
    assert len(await _events(db, workspace.workspace.id)) == 1


async def test_multipart_form_data_is_accepted(
    client: httpx.AsyncClient, workspace: NewWorkspace, db: Sessions
) -> None:
    response = await client.post(_path(workspace.workspace.id), files={"List-Unsubscribe": (None, "One-Click")})
    assert response.request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert response.status_code == 200
    assert await _suppressed(db, workspace.workspace.id)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"", None),
        (b"List-Unsubscribe=Two-Clicks", "application/x-www-form-urlencoded"),
        (b"unsubscribe=yes", "application/x-www-form-urlencoded"),
        (b'{"List-Unsubscribe": "One-Click"}', "application/json"),
        (b"--x\r\nContent-Disposition: form-data; name=other\r\n\r\nOne-Click\r\n--x--\r\n", "multipart/form-data"),
    ],
)
async def test_a_post_without_the_one_click_body_changes_nothing(
    client: httpx.AsyncClient, workspace: NewWorkspace, db: Sessions, content: bytes, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post(_path(workspace.workspace.id), content=content, headers=headers)
    assert response.status_code == 400
    assert 'id="error-code">one_click_body_required<' in response.text
    assert not await _suppressed(db, workspace.workspace.id)


async def test_an_oversized_body_is_refused(client: httpx.AsyncClient, workspace: NewWorkspace) -> None:
    body = b"List-Unsubscribe=One-Click&pad=" + b"x" * 20_000
    response = await client.post(
        _path(workspace.workspace.id), content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413


def _bad_tokens(workspace_id: str) -> dict[str, str]:
    good = _path(workspace_id).rsplit("/", 1)[1]
    raw = bytearray(base64.urlsafe_b64decode(good + "=" * (-len(good) % 4)))
    raw[10] ^= 0x20
    return {
        "tampered": base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="),
        "truncated": good[:-5],
        "foreign-key": _path(workspace_id, key="another-master-key-" + "z" * 32).rsplit("/", 1)[1],
        "garbage": "not-a-token",
        "huge": "A" * 4000,
        "percent-encoded": "%00%ff%c3%28",
    }


@pytest.mark.parametrize("kind", ["tampered", "truncated", "foreign-key", "garbage", "huge", "percent-encoded"])
async def test_bad_tokens_get_a_friendly_400_on_get_and_post(
    client: httpx.AsyncClient, workspace: NewWorkspace, db: Sessions, kind: str
) -> None:
    token = _bad_tokens(workspace.workspace.id)[kind]
    for response in (await client.get(f"/u/{token}"), await client.post(f"/u/{token}", data=ONE_CLICK)):
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("text/html")
        assert 'id="error-code">invalid_unsubscribe_token<' in response.text
        assert "not valid" in response.text
    as_json = await client.post(f"/u/{token}", data=ONE_CLICK, headers={"accept": "application/json"})
    assert as_json.status_code == 400
    assert as_json.json()["error"]["code"] == "invalid_unsubscribe_token"
    assert not await _suppressed(db, workspace.workspace.id)


async def test_a_token_for_a_workspace_that_no_longer_exists_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(_path("ws_gone"), data=ONE_CLICK)
    assert response.status_code == 404
    assert 'id="error-code">unknown_workspace<' in response.text


async def test_works_under_a_real_server_without_any_credentials(
    app: FastAPI, workspace: NewWorkspace, db: Sessions
) -> None:
    async with serve_api(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        path = _path(workspace.workspace.id)
        assert (await http.get(path)).status_code == 200
        response = await http.post(
            path, content=b"List-Unsubscribe=One-Click", headers={"content-type": "application/x-www-form-urlencoded"}
        )
        assert response.status_code == 200
    assert await _suppressed(db, workspace.workspace.id)


async def test_recording_reports_news_once(workspace: NewWorkspace, db: Sessions) -> None:
    token = _path(workspace.workspace.id).rsplit("/", 1)[1]
    claim = read_unsubscribe_token(SecretBox(TEST_SECRET_KEY), token)
    async with db() as session:
        assert await record_unsubscribe(session, claim) is True
        assert await record_unsubscribe(session, claim) is False
        await session.commit()
    assert len(await _events(db, workspace.workspace.id)) == 1
