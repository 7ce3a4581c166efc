"""Custom roles and workspace users through the API, on SQLite and PostgreSQL: a custom role's key can do exactly
what the role holds; nobody grants more than they hold; a role in use is not deleted; the last owner stays."""

from __future__ import annotations

import httpx

from store.workspaces import NewWorkspace


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_a_custom_roles_key_does_exactly_what_the_role_holds(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role = {"name": "contact-reader", "description": "support", "permissions": ["contacts:read"]}
    created = await client.post("/v1/roles", headers=admin_headers, json=role)
    assert created.status_code == 201, created.text
    assert created.json()["builtin"] is False
    issued = await client.post(
        "/v1/api-keys", headers=admin_headers, json={"name": "support", "role": "contact-reader"}
    )
    assert issued.status_code == 201, issued.text
    key = bearer(issued.json()["key"])

    assert (await client.get("/v1/contacts", headers=key)).status_code == 200
    denied = await client.post("/v1/contacts", headers=key, json={"email": "x@example.test"})
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "permission_denied"
    assert "contacts:write" in denied.json()["error"]["message"]
    assert (await client.get("/v1/journeys", headers=key)).status_code == 403

    role_id = created.json()["id"]
    widened = await client.patch(
        f"/v1/roles/{role_id}", headers=admin_headers, json={"permissions": ["contacts:read", "contacts:write"]}
    )
    assert widened.status_code == 200, widened.text
    allowed = await client.post("/v1/contacts", headers=key, json={"email": "x@example.test"})
    assert allowed.status_code == 201, allowed.text  # this replica forgot the role's cached permissions at once

    in_use = await client.delete(f"/v1/roles/{role_id}", headers=admin_headers)
    assert in_use.status_code == 409
    assert in_use.json()["error"]["code"] == "role_in_use"
    names = {r["name"] for r in (await client.get("/v1/roles", headers=admin_headers)).json()["data"]}
    assert {"owner", "admin", "marketer", "analyst", "viewer", "contact-reader"} <= names


async def test_refusals_unknown_permissions_builtins_and_escalation(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    unknown = await client.post("/v1/roles", headers=admin_headers, json={"name": "x", "permissions": ["nope:read"]})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "unknown_permission"
    builtin = await client.delete("/v1/roles/viewer", headers=admin_headers)
    assert builtin.status_code == 409
    assert builtin.json()["error"]["code"] == "builtin_role"

    marketer = (await client.post("/v1/api-keys", headers=admin_headers, json={"name": "m", "role": "marketer"})).json()
    # a marketer holds no access:* permission: it can neither mint an admin key nor a role
    escalation = await client.post("/v1/api-keys", headers=bearer(marketer["key"]), json={"name": "a", "role": "admin"})
    assert escalation.status_code == 403


async def test_users_and_the_last_owner(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace
) -> None:
    owner = await client.post(
        "/v1/users", headers=admin_headers, json={"email": "own@example.test", "name": "Own", "role": "owner"}
    )
    assert owner.status_code == 201, owner.text
    ada = await client.post(
        "/v1/users", headers=admin_headers, json={"email": "ada@example.test", "name": "Ada", "role": "marketer"}
    )
    assert ada.status_code == 201, ada.text
    again = await client.post(
        "/v1/users", headers=admin_headers, json={"email": "ada@example.test", "name": "Ada", "role": "viewer"}
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "user_exists"
    listed = (await client.get("/v1/users", headers=admin_headers)).json()["data"]
    assert {(u["email"], u["role"]) for u in listed} == {
        ("own@example.test", "owner"),
        ("ada@example.test", "marketer"),
    }

    ada_id = ada.json()["id"]
    demoted = await client.patch(f"/v1/users/{ada_id}", headers=admin_headers, json={"role": "viewer"})
    assert demoted.status_code == 200, demoted.text
    assert demoted.json()["role"] == "viewer"

    owner_id = owner.json()["id"]
    last = await client.patch(f"/v1/users/{owner_id}", headers=admin_headers, json={"role": "admin"})
    assert last.status_code == 409
    assert last.json()["error"]["code"] == "last_owner"
    assert (await client.delete(f"/v1/users/{owner_id}", headers=admin_headers)).status_code == 409
    assert (await client.delete(f"/v1/users/{ada_id}", headers=admin_headers)).status_code == 204
    assert (await client.get(f"/v1/users/{ada_id}", headers=admin_headers)).status_code == 404
