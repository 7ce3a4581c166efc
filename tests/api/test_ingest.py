"""The Segment HTTP Tracking API on a real database (SQLite, and PostgreSQL when configured): what each call
stores, and bad input refused with a stable code and nothing stored."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from store.models import WriteKey
from store.workspaces import NewWorkspace
from tests.api.ingest_support import Sessions, basic, contacts, events, identities, post, row_counts, ws
from tests.conftest import new_workspace

# --- what each endpoint stores -------------------------------------------------------------------------------


async def test_identify_creates_then_updates_the_contact(
    client: httpx.AsyncClient, auth: dict[str, str], workspace: NewWorkspace, db: Sessions
) -> None:
    traits = {"email": "Grace@Example.COM", "firstName": "Grace", "plan": "pro"}
    await post(client, "/v1/identify", auth, {"userId": "u-1", "traits": traits, "messageId": "m-1"})
    [contact] = await contacts(db, ws(workspace))
    assert (contact.external_id, contact.email, contact.first_name) == ("u-1", "Grace@example.com", "Grace")
    assert contact.attributes == {"plan": "pro"}

    await post(client, "/v1/identify", auth, {"userId": "u-1", "traits": {"lastName": "Hopper", "plan": "team"}})
    [contact] = await contacts(db, ws(workspace))
    assert (contact.first_name, contact.last_name, contact.attributes) == ("Grace", "Hopper", {"plan": "team"})

    rows = await events(db, ws(workspace))
    assert [(e.type, e.name, e.user_id, e.contact_id) for e in rows] == [("identify", None, "u-1", contact.id)] * 2
    assert rows[0].properties == traits  # the event keeps the traits as sent
    assert rows[0].message_id == "m-1"
    assert rows[1].message_id  # generated when absent
    assert await identities(db, ws(workspace)) == {("user", "u-1", contact.id)}


async def test_track_page_screen_group_store_their_names_and_properties(
    client: httpx.AsyncClient, auth: dict[str, str], workspace: NewWorkspace, db: Sessions
) -> None:
    t0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    base = {"anonymousId": "anon-1", "context": {"ip": "10.0.0.1"}}
    await post(
        client,
        "/v1/track",
        auth,
        {**base, "event": "Order Completed", "properties": {"total": 42.5}, "timestamp": t0.isoformat()},
    )
    await post(
        client,
        "/v1/page",
        auth,
        {
            **base,
            "name": "Pricing",
            "properties": {"path": "/pricing"},
            "timestamp": (t0 + timedelta(seconds=1)).isoformat(),
        },
    )
    await post(
        client, "/v1/screen", auth, {**base, "name": "Home", "timestamp": (t0 + timedelta(seconds=2)).isoformat()}
    )
    await post(
        client,
        "/v1/group",
        auth,
        {**base, "groupId": 77, "traits": {"name": "Initech"}, "timestamp": (t0 + timedelta(seconds=3)).isoformat()},
    )
    rows = await events(db, ws(workspace))
    assert [(e.type, e.name, e.properties) for e in rows] == [
        ("track", "Order Completed", {"total": 42.5}),
        ("page", "Pricing", {"path": "/pricing"}),
        ("screen", "Home", {}),
        ("group", "77", {"name": "Initech"}),
    ]
    [contact] = await contacts(db, ws(workspace))  # created by the first message, reused by the others
    assert {e.contact_id for e in rows} == {contact.id}
    assert all(e.anonymous_id == "anon-1" and e.user_id is None for e in rows)
    assert rows[0].context == {"ip": "10.0.0.1"}
    assert rows[0].timestamp == t0
    assert rows[0].received_at > t0


async def test_anonymous_visitor_who_identifies_keeps_one_contact(
    client: httpx.AsyncClient, auth: dict[str, str], workspace: NewWorkspace, db: Sessions
) -> None:
    await post(client, "/v1/track", auth, {"anonymousId": "a-7", "event": "Viewed Pricing"})
    await post(client, "/v1/identify", auth, {"anonymousId": "a-7", "userId": "u-7", "traits": {"email": "u7@x.io"}})
    await post(client, "/v1/track", auth, {"userId": "u-7", "event": "Signed Up"})
    [contact] = await contacts(db, ws(workspace))
    assert (contact.external_id, contact.email) == ("u-7", "u7@x.io")
    assert {e.contact_id for e in await events(db, ws(workspace))} == {contact.id}
    assert await identities(db, ws(workspace)) == {("anonymous", "a-7", contact.id), ("user", "u-7", contact.id)}


async def test_alias_links_the_previous_id_to_the_users_contact(
    client: httpx.AsyncClient, auth: dict[str, str], workspace: NewWorkspace, db: Sessions
) -> None:
    await post(client, "/v1/identify", auth, {"userId": "new-id", "traits": {"firstName": "Ada"}})
    await post(client, "/v1/alias", auth, {"previousId": "old-id", "userId": "new-id"})
    await post(client, "/v1/track", auth, {"userId": "old-id", "event": "Logged In"})  # old id: same person
    await post(client, "/v1/track", auth, {"anonymousId": "old-id", "event": "Logged In"})
    [contact] = await contacts(db, ws(workspace))
    rows = await events(db, ws(workspace))
    alias = next(e for e in rows if e.type == "alias")
    assert (alias.name, alias.user_id, alias.contact_id) == ("old-id", "new-id", contact.id)
    assert {e.contact_id for e in rows} == {contact.id}
    assert ("user", "old-id", contact.id) in await identities(db, ws(workspace))


async def test_alias_of_an_anonymous_visitor_gives_them_the_user_id(
    client: httpx.AsyncClient, auth: dict[str, str], workspace: NewWorkspace, db: Sessions
) -> None:
    await post(client, "/v1/page", auth, {"anonymousId": "visitor", "name": "Landing"})
    await post(client, "/v1/alias", auth, {"previousId": "visitor", "userId": "member-1"})
    [contact] = await contacts(db, ws(workspace))
    assert contact.external_id == "member-1"


async def test_context_timezone_fills_an_empty_timezone_only(
    client: httpx.AsyncClient, auth: dict[str, str], workspace: NewWorkspace, db: Sessions
) -> None:
    await post(client, "/v1/track", auth, {"userId": "tz", "event": "A", "context": {"timezone": "Nope/Nowhere"}})
    [contact] = await contacts(db, ws(workspace))
    assert contact.timezone is None
    await post(client, "/v1/track", auth, {"userId": "tz", "event": "B", "context": {"timezone": "Europe/Paris"}})
    await post(client, "/v1/track", auth, {"userId": "tz", "event": "C", "context": {"timezone": "Asia/Tokyo"}})
    [contact] = await contacts(db, ws(workspace))
    assert contact.timezone == "Europe/Paris"


async def test_message_id_deduplicates_and_a_retried_identify_changes_nothing(
    client: httpx.AsyncClient, auth: dict[str, str], workspace: NewWorkspace, db: Sessions
) -> None:
    first = {"userId": "d-1", "messageId": "dup-1", "traits": {"email": "old@x.io"}}
    await post(client, "/v1/identify", auth, first)
    await post(client, "/v1/identify", auth, {"userId": "d-1", "messageId": "dup-2", "traits": {"email": "new@x.io"}})
    await post(client, "/v1/identify", auth, first)  # a late retry of the first
    await post(client, "/v1/batch", auth, {"batch": [{**first, "type": "identify"}, {**first, "type": "identify"}]})
    rows = await events(db, ws(workspace))
    assert sorted(e.message_id for e in rows) == ["dup-1", "dup-2"]
    [contact] = await contacts(db, ws(workspace))
    assert contact.email == "new@x.io"


async def test_message_ids_are_per_workspace(
    client: httpx.AsyncClient, auth: dict[str, str], workspace: NewWorkspace, db: Sessions, database_url: str
) -> None:
    other = await new_workspace(database_url)
    body = {"userId": "same", "event": "E", "messageId": "shared-id"}
    await post(client, "/v1/track", auth, body)
    await post(client, "/v1/track", basic(other.write_key), body)
    assert len(await events(db, ws(workspace))) == len(await events(db, ws(other))) == 1


async def test_batch_of_mixed_types_merges_the_batch_context(
    client: httpx.AsyncClient, auth: dict[str, str], workspace: NewWorkspace, db: Sessions
) -> None:
    sent_at = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)  # the device clock runs years ahead
    batch = {
        "context": {"ip": "1.2.3.4", "library": {"name": "test"}},
        "sentAt": sent_at.isoformat(),
        "batch": [
            {"type": "identify", "userId": 42, "traits": {"email": "b@x.io"}, "context": {"ip": "9.9.9.9"}},
            {
                "type": "track",
                "userId": 42,
                "event": "Played",
                "timestamp": (sent_at - timedelta(minutes=5)).isoformat(),
            },
            {"type": "page", "anonymousId": "b-anon", "name": "Docs"},
            {"type": "screen", "userId": "42", "name": "Settings"},
            {"type": "group", "userId": "42", "groupId": "g-1"},
            {"type": "alias", "previousId": "b-anon", "userId": "42"},
        ],
    }
    before = datetime.now(UTC)
    await post(client, "/v1/batch", auth, batch)
    rows = {e.type: e for e in await events(db, ws(workspace))}
    assert set(rows) == {"identify", "track", "page", "screen", "group", "alias"}
    assert rows["identify"].context == {"ip": "9.9.9.9", "library": {"name": "test"}}  # the message's keys win
    assert rows["page"].context == {"ip": "1.2.3.4", "library": {"name": "test"}}
    assert rows["identify"].user_id == "42"  # numbers become strings
    played = rows["track"].timestamp  # corrected for skew: about five minutes before it was received
    assert before - timedelta(minutes=5, seconds=5) < played < datetime.now(UTC) - timedelta(minutes=4, seconds=55)
    user = {e.contact_id for t, e in rows.items() if t not in ("page",)}
    assert len(user) == 1
    assert rows["page"].contact_id not in user  # b-anon was another person, already known when aliased


async def test_write_key_in_the_body_and_gzip_bodies_are_accepted(
    client: httpx.AsyncClient, workspace: NewWorkspace, db: Sessions
) -> None:
    body = {"writeKey": workspace.write_key, "batch": [{"type": "track", "userId": "z", "event": "Zipped"}]}
    response = await client.post(
        "/v1/batch",
        content=gzip.compress(json.dumps(body).encode()),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert [e.name for e in await events(db, ws(workspace))] == ["Zipped"]


async def test_unicode_huge_numbers_and_nulls_are_stored(
    client: httpx.AsyncClient, auth: dict[str, str], workspace: NewWorkspace, db: Sessions
) -> None:
    raw = (
        '{"userId": "\u00fc-\U0001f600", "event": "Caf\u00e9 \U0001f375", "properties": '
        '{"big": 123456789012345678901234567890, "none": null, "nested": {"a": [1, "\u4e2d"]}}, '
        '"context": null, "traits": null, "timestamp": null}'
    )
    response = await client.post("/v1/track", content=raw.encode(), headers=auth)
    assert response.status_code == 200, response.text
    [row] = await events(db, ws(workspace))
    assert (row.user_id, row.name) == ("\u00fc-\U0001f600", "Caf\u00e9 \U0001f375")
    assert row.properties["big"] == pytest.approx(1.2345678901234568e29)
    assert row.properties["nested"] == {"a": [1, "\u4e2d"]}


# --- bad input: a 4xx with a stable code, and nothing stored ---------------------------------------------------


async def assert_rejected(
    response: httpx.Response, status: int, code: str, db: Sessions, workspace: NewWorkspace
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert await row_counts(db, ws(workspace)) == (0, 0, 0)
    return error


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_write_key"),
        (basic("wk_not-a-real-key"), "invalid_write_key"),
        ({"Authorization": "Basic !!!"}, "invalid_write_key"),
        ({"Authorization": "Bearer something"}, "missing_write_key"),
    ],
)
async def test_bad_credentials_are_401(
    client: httpx.AsyncClient, workspace: NewWorkspace, db: Sessions, headers: dict[str, str], code: str
) -> None:
    response = await client.post("/v1/track", headers=headers, json={"userId": "x", "event": "E"})
    await assert_rejected(response, 401, code, db, workspace)


async def test_a_revoked_write_key_is_refused(
    client: httpx.AsyncClient, auth: dict[str, str], workspace: NewWorkspace, db: Sessions
) -> None:
    async with db() as session:
        await session.execute(
            update(WriteKey).where(WriteKey.workspace_id == ws(workspace)).values(revoked_at=datetime.now(UTC))  # type: ignore[arg-type]
        )
        await session.commit()
    response = await client.post("/v1/track", headers=auth, json={"userId": "x", "event": "E"})
    await assert_rejected(response, 401, "invalid_write_key", db, workspace)


def _message(**fields: Any) -> dict[str, Any]:
    return {"userId": "u", "event": "E", **fields}


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/v1/track", b"{not json", "malformed_json"),
        ("/v1/track", b"", "malformed_json"),
        ("/v1/track", b'{"userId": "u", "event": "E", "p": NaN}', "malformed_json"),
        ("/v1/track", b'{"userId": "\\ud800", "event": "E"}', "malformed_json"),
        ("/v1/track", b'{"userId": "u", "event": "E", "n": 1' + b"0" * 400 + b"}", "malformed_json"),
        ("/v1/track", b"[" * 5000 + b"]" * 5000, "malformed_json"),
        ("/v1/track", b"\xff\xfe", "malformed_json"),
        ("/v1/track", b"[1, 2]", "invalid_message"),
        ("/v1/track", b'"just a string"', "invalid_message"),
        ("/v1/track", b"null", "invalid_message"),
        ("/v1/track", json.dumps(_message(event=None)).encode(), "invalid_message"),
        ("/v1/track", json.dumps(_message(event="  ")).encode(), "invalid_message"),
        ("/v1/track", json.dumps(_message(event="x" * 256)).encode(), "invalid_message"),
        ("/v1/track", json.dumps({"event": "E"}).encode(), "invalid_message"),
        ("/v1/track", json.dumps(_message(userId="", anonymousId=None)).encode(), "invalid_message"),
        ("/v1/track", json.dumps(_message(userId=True)).encode(), "invalid_message"),
        ("/v1/track", json.dumps(_message(userId={"id": 1})).encode(), "invalid_message"),
        ("/v1/track", json.dumps(_message(userId="nul\u0000")).encode(), "invalid_message"),
        ("/v1/track", json.dumps(_message(userId="u" * 256)).encode(), "invalid_message"),
        ("/v1/track", json.dumps(_message(properties=[1, 2])).encode(), "invalid_message"),
        ("/v1/track", json.dumps(_message(context="ctx")).encode(), "invalid_message"),
        ("/v1/track", json.dumps(_message(timestamp="yesterday")).encode(), "invalid_message"),
        ("/v1/track", json.dumps(_message(timestamp=1700000000)).encode(), "invalid_message"),
        ("/v1/track", json.dumps(_message(timestamp="0001-01-01T00:00:00+01:00")).encode(), "invalid_message"),
        (
            "/v1/track",
            json.dumps(_message(properties={"deep": json.loads("[" * 300 + "]" * 300)})).encode(),
            "invalid_message",
        ),
        ("/v1/identify", json.dumps({"userId": "u", "traits": {"email": "not-an-email"}}).encode(), "invalid_email"),
        ("/v1/identify", json.dumps({"userId": "u", "traits": {"email": "A <a@b.io>"}}).encode(), "invalid_email"),
        ("/v1/identify", json.dumps({"userId": "u", "traits": {"firstName": "a\u0000b"}}).encode(), "invalid_message"),
        ("/v1/alias", json.dumps({"userId": "u"}).encode(), "invalid_message"),
        ("/v1/alias", json.dumps({"previousId": "p", "anonymousId": "a"}).encode(), "invalid_message"),
        ("/v1/group", json.dumps({"userId": "u", "traits": {}}).encode(), "invalid_message"),
        ("/v1/page", json.dumps({"userId": "u", "name": 3}).encode(), "invalid_message"),
        ("/v1/batch", json.dumps({"batch": {"type": "track"}}).encode(), "invalid_message"),
        ("/v1/batch", json.dumps({"messages": []}).encode(), "invalid_message"),
        ("/v1/batch", json.dumps({"batch": [_message()], "context": []}).encode(), "invalid_message"),
        ("/v1/track", b'{"userId": "u", "event": "E"}', "unsupported_encoding"),
    ],
)
async def test_bad_bodies_are_400_and_store_nothing(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    workspace: NewWorkspace,
    db: Sessions,
    path: str,
    body: bytes,
    code: str,
) -> None:
    headers = {**auth, "Content-Type": "application/json"}
    if code == "unsupported_encoding":
        headers["Content-Encoding"] = "br"
    response = await client.post(path, content=body, headers=headers)
    await assert_rejected(response, 400, code, db, workspace)


async def test_size_limits(
    client: httpx.AsyncClient, auth: dict[str, str], workspace: NewWorkspace, db: Sessions
) -> None:
    big = _message(properties={"blob": "x" * (32 * 1024)})
    response = await client.post("/v1/track", headers=auth, json=big)
    await assert_rejected(response, 400, "message_too_large", db, workspace)

    per_message = {"blob": "y" * (20 * 1024)}
    too_many = {"batch": [_message(type="track", properties=per_message) for _ in range(26)]}  # ~520 KB
    response = await client.post("/v1/batch", headers=auth, json=too_many)
    await assert_rejected(response, 400, "batch_too_large", db, workspace)

    bomb = gzip.compress(json.dumps({"batch": [], "pad": "z" * 2_000_000}).encode())
    response = await client.post("/v1/batch", headers={**auth, "Content-Encoding": "gzip"}, content=bomb)
    await assert_rejected(response, 400, "batch_too_large", db, workspace)

    just_fits = {"batch": [_message(type="track", properties={"blob": "y" * (31 * 1024)}) for _ in range(15)]}
    await post(client, "/v1/batch", auth, just_fits)
    assert len(await events(db, ws(workspace))) == 15


async def test_an_empty_batch_succeeds(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await post(client, "/v1/batch", auth, {"batch": []})
