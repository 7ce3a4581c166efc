from __future__ import annotations

import httpx


async def test_missing_and_invalid_keys_are_401(client: httpx.AsyncClient) -> None:
    missing = await client.get("/v1/contacts")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "missing_api_key"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = await client.get("/v1/contacts", headers={"Authorization": "Bearer mk_not-a-key"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_api_key"


async def test_scoped_keys_are_limited_to_their_scopes(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    issued = await client.post(
        "/v1/api-keys", headers=admin_headers, json={"name": "reader", "scopes": ["contacts:read"]}
    )
    assert issued.status_code == 201, issued.text
    reader = {"Authorization": f"Bearer {issued.json()['key']}"}
    assert issued.json()["scopes"] == ["contacts:read"]

    assert (await client.get("/v1/contacts", headers=reader)).status_code == 200
    denied = await client.post("/v1/contacts", headers=reader, json={"external_id": "x"})
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "insufficient_scope"
    assert (await client.get("/v1/journeys", headers=reader)).status_code == 403
    cannot_escalate = await client.post("/v1/api-keys", headers=reader, json={"name": "x", "scopes": ["admin"]})
    assert cannot_escalate.status_code == 403


async def test_unknown_scope_is_rejected(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.post("/v1/api-keys", headers=admin_headers, json={"name": "x", "scopes": ["root"]})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
