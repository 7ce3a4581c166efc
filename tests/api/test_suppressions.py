"""The suppression-list API, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from domain.access.keys import Scope
from store.db import create_async_db_engine, session_factory
from store.workspaces import NewWorkspace, create_api_key

Headers = dict[str, str]


async def _key(database_url: str, workspace: NewWorkspace, scopes: list[str]) -> Headers:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            _, secret = await create_api_key(session, workspace.workspace.id, "t", scopes)
            await session.commit()
    finally:
        await engine.dispose()
    return {"Authorization": f"Bearer {secret}"}


async def test_add_read_and_remove(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    created = await client.post(
        "/v1/suppressions", json={"channel": "email", "address": "Ada@Example.TEST"}, headers=admin_headers
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["channel"], body["address"], body["reason"], body["source"]) == (
        "email",
        "ada@example.test",
        "manual",
        "api",
    )

    again = await client.post(
        "/v1/suppressions", json={"channel": "email", "address": "ada@example.test"}, headers=admin_headers
    )
    assert again.status_code == 200
    assert again.json()["created_at"] == body["created_at"]

    read = await client.get("/v1/suppressions/email/ADA@example.test", headers=admin_headers)
    assert read.status_code == 200
    assert read.json()["address"] == "ada@example.test"

    removed = await client.delete("/v1/suppressions/email/ada@example.test", headers=admin_headers)
    assert removed.status_code == 204
    gone = await client.get("/v1/suppressions/email/ada@example.test", headers=admin_headers)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "suppression_not_found"
    assert (await client.delete("/v1/suppressions/email/ada@example.test", headers=admin_headers)).status_code == 404


async def test_sms_and_push_addresses(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    token = "fcm-token_abc:APA91bH-x.y"
    for channel, address in (("sms", "+15551234567"), ("push", token)):
        response = await client.post(
            "/v1/suppressions", json={"channel": channel, "address": address}, headers=admin_headers
        )
        assert response.status_code == 201
        assert (await client.get(f"/v1/suppressions/{channel}/{address}", headers=admin_headers)).status_code == 200
    assert (await client.get("/v1/suppressions/push/another-token", headers=admin_headers)).status_code == 404
    assert (await client.get("/v1/suppressions/sms/+15557654321", headers=admin_headers)).status_code == 404


async def test_list_pages_through_everything_and_filters_by_channel(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    addresses = [f"user{i}@example.test" for i in range(5)]
    for address in addresses:
        await client.post("/v1/suppressions", json={"channel": "email", "address": address}, headers=admin_headers)
    await client.post("/v1/suppressions", json={"channel": "sms", "address": "+15550000001"}, headers=admin_headers)

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"channel": "email", "limit": "2", **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/suppressions", params=params, headers=admin_headers)
        assert response.status_code == 200
        page = response.json()
        seen += [row["address"] for row in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == addresses
    assert pages == 3

    everything = (await client.get("/v1/suppressions", headers=admin_headers)).json()
    assert [row["channel"] for row in everything["data"]] == ["email"] * 5 + ["sms"]
    assert everything["next_cursor"] is None


async def test_workspaces_do_not_see_each_others_suppressions(
    client: httpx.AsyncClient, admin_headers: Headers, database_url: str
) -> None:
    from tests.conftest import new_workspace

    other = await new_workspace(database_url)
    other_headers = {"Authorization": f"Bearer {other.api_key}"}
    await client.post("/v1/suppressions", json={"channel": "email", "address": "a@example.test"}, headers=admin_headers)
    assert (await client.get("/v1/suppressions", headers=other_headers)).json()["data"] == []
    assert (await client.get("/v1/suppressions/email/a@example.test", headers=other_headers)).status_code == 404
    assert (await client.delete("/v1/suppressions/email/a@example.test", headers=other_headers)).status_code == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"channel": "fax", "address": "a@example.test"}, "validation_error"),
        ({"channel": "email", "address": "not-an-email"}, "invalid_address"),
        ({"channel": "email", "address": "a@b@example.test"}, "invalid_address"),
        ({"channel": "sms", "address": "555-1234"}, "invalid_address"),
        ({"channel": "push", "address": "has spaces in it"}, "invalid_address"),
        ({"channel": "email", "address": "a@example.test", "reason": "hard_bounce"}, "validation_error"),
        ({"channel": "email", "address": ""}, "validation_error"),
        ({"channel": "email"}, "validation_error"),
    ],
)
async def test_bad_input_is_422(client: httpx.AsyncClient, admin_headers: Headers, body: object, code: str) -> None:
    response = await client.post("/v1/suppressions", json=body, headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/v1/suppressions/fax/a@example.test", "invalid_channel"),
        ("/v1/suppressions/email/nope", "invalid_address"),
        ("/v1/suppressions?channel=fax", "invalid_channel"),
        ("/v1/suppressions?cursor=abc", "invalid_cursor"),
        ("/v1/suppressions?cursor=99999999999999999999999", "invalid_cursor"),
        ("/v1/suppressions?limit=0", "validation_error"),
    ],
)
async def test_bad_paths_and_queries_are_422(
    client: httpx.AsyncClient, admin_headers: Headers, path: str, code: str
) -> None:
    response = await client.get(path, headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


async def test_scopes(client: httpx.AsyncClient, workspace: NewWorkspace, database_url: str) -> None:
    reader = await _key(database_url, workspace, [Scope.DELIVERY_READ.value])
    writer = await _key(database_url, workspace, [Scope.DELIVERY_WRITE.value])
    other = await _key(database_url, workspace, [Scope.CONTACTS_READ.value])
    body = {"channel": "email", "address": "s@example.test"}

    assert (await client.post("/v1/suppressions", json=body, headers=reader)).status_code == 403
    assert (await client.post("/v1/suppressions", json=body, headers=writer)).status_code == 201
    assert (await client.get("/v1/suppressions", headers=reader)).status_code == 200
    assert (await client.get("/v1/suppressions/email/s@example.test", headers=reader)).status_code == 200
    assert (await client.get("/v1/suppressions", headers=other)).status_code == 403
    assert (await client.delete("/v1/suppressions/email/s@example.test", headers=reader)).status_code == 403
    assert (await client.get("/v1/suppressions")).status_code == 401
    assert (await client.delete("/v1/suppressions/email/s@example.test", headers=writer)).status_code == 204
