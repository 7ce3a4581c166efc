"""API keys' lifecycle: issued with a role or scopes, listed without secrets, rotated, revoked, last-used time."""

from __future__ import annotations

from datetime import timedelta

import httpx

from domain.clock import utcnow
from store.db import create_async_db_engine, session_factory
from store.models import ApiKey


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def issue(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> httpx.Response:
    return await client.post("/v1/api-keys", headers=headers, json={"name": "k", **body})


async def test_a_role_key_holds_its_role(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    issued = await issue(client, admin_headers, role="viewer")
    assert issued.status_code == 201, issued.text
    assert (issued.json()["role"], issued.json()["scopes"]) == ("viewer", [])
    viewer = bearer(issued.json()["key"])
    assert (await client.get("/v1/contacts", headers=viewer)).status_code == 200
    denied = await client.post("/v1/contacts", headers=viewer, json={"external_id": "x"})
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "permission_denied"
    assert denied.json()["error"]["details"] == {"permission": "contacts:write"}


async def test_role_or_scopes_and_unknown_roles(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    both = await issue(client, admin_headers, role="viewer", scopes=["contacts:read"])
    assert (both.status_code, both.json()["error"]["code"]) == (422, "role_or_scopes")
    neither = await issue(client, admin_headers)
    assert (neither.status_code, neither.json()["error"]["code"]) == (422, "role_or_scopes")
    unknown = await issue(client, admin_headers, role="wizard")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "unknown_role")


async def test_a_key_cannot_grant_more_than_its_issuer(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    admin = bearer((await issue(client, admin_headers, role="admin")).json()["key"])
    assert (await issue(client, admin, role="marketer")).status_code == 201
    owner = await issue(client, admin, role="owner")
    assert (owner.status_code, owner.json()["error"]["code"]) == (403, "permission_escalation")
    assert owner.json()["error"]["details"] == {"permission": "access:admin"}
    assert (await issue(client, admin_headers, role="owner")).status_code == 201  # the bootstrap key may


async def test_list_and_get_never_show_a_secret(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    issued = (await issue(client, admin_headers, role="analyst")).json()
    listed = await client.get("/v1/api-keys", headers=admin_headers, params={"limit": 1})
    assert listed.status_code == 200
    assert len(listed.json()["data"]) == 1
    assert listed.json()["next_cursor"]
    rest = await client.get("/v1/api-keys", headers=admin_headers, params={"cursor": listed.json()["next_cursor"]})
    ids = [k["id"] for k in listed.json()["data"] + rest.json()["data"]]
    assert issued["id"] in ids
    assert len(ids) == len(set(ids)) == 2
    one = await client.get(f"/v1/api-keys/{issued['id']}", headers=admin_headers)
    assert one.json()["role"] == "analyst"
    assert "key" not in one.json()
    assert issued["key"] not in listed.text + rest.text + one.text
    assert (await client.get("/v1/api-keys/key_nope", headers=admin_headers)).status_code == 404


async def test_rotation_replaces_the_secret_at_once(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    issued = (await issue(client, admin_headers, role="viewer")).json()
    rotated = await client.post(f"/v1/api-keys/{issued['id']}/rotate", headers=admin_headers)
    assert rotated.status_code == 200
    assert rotated.json()["key"] != issued["key"]
    assert (await client.get("/v1/contacts", headers=bearer(issued["key"]))).status_code == 401
    assert (await client.get("/v1/contacts", headers=bearer(rotated.json()["key"]))).status_code == 200
    shown = (await client.get(f"/v1/api-keys/{issued['id']}", headers=admin_headers)).json()
    assert shown["rotated_at"] is not None


async def test_revoked_keys_answer_401(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    issued = (await issue(client, admin_headers, role="viewer")).json()
    assert (await client.delete(f"/v1/api-keys/{issued['id']}", headers=admin_headers)).status_code == 204
    assert (await client.delete(f"/v1/api-keys/{issued['id']}", headers=admin_headers)).status_code == 204
    answer = await client.get("/v1/contacts", headers=bearer(issued["key"]))
    assert (answer.status_code, answer.json()["error"]["code"]) == (401, "invalid_api_key")
    again = await client.post(f"/v1/api-keys/{issued['id']}/rotate", headers=admin_headers)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "api_key_revoked")
    shown = (await client.get(f"/v1/api-keys/{issued['id']}", headers=admin_headers)).json()
    assert shown["revoked_at"] is not None


async def test_a_weaker_key_cannot_rotate_or_revoke_a_stronger(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    admin = bearer((await issue(client, admin_headers, role="admin")).json()["key"])
    owner = (await issue(client, admin_headers, role="owner")).json()
    for call in (
        client.post(f"/v1/api-keys/{owner['id']}/rotate", headers=admin),
        client.delete(f"/v1/api-keys/{owner['id']}", headers=admin),
    ):
        response = await call
        assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_escalation")
    assert (await client.get("/v1/contacts", headers=bearer(owner["key"]))).status_code == 200


async def test_last_used_is_recorded_at_most_once_a_minute(
    client: httpx.AsyncClient, admin_headers: dict[str, str], database_url: str
) -> None:
    issued = (await issue(client, admin_headers, role="viewer")).json()
    viewer = bearer(issued["key"])

    async def last_used() -> object:
        return (await client.get(f"/v1/api-keys/{issued['id']}", headers=admin_headers)).json()["last_used_at"]

    assert await last_used() is None
    await client.get("/v1/contacts", headers=viewer)
    first = await last_used()
    assert first is not None
    await client.get("/v1/contacts", headers=viewer)
    assert await last_used() == first  # throttled: no write within the minute
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            key = await session.get(ApiKey, issued["id"])
            assert key is not None
            key.last_used_at = utcnow() - timedelta(minutes=2)
            await session.commit()
    finally:
        await engine.dispose()
    await client.get("/v1/contacts", headers=viewer)
    assert await last_used() != first
