"""Writes through the API leave audit entries: roles, keys (issue, rotate, revoke), the merge policy and field
policies each record actor, action, target, before/after and the caller's X-Request-Id, and the chain verifies.
Every one comes from the row hook (store/audit_hook.py); tests/api/test_audit_coverage.py covers the other
critical writes. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx

from store.workspaces import NewWorkspace


async def _entries(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/v1/audit", headers=headers, params={"limit": 100})
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


async def test_access_and_policy_writes_are_audited(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace
) -> None:
    headers = {**admin_headers, "X-Request-Id": "req-audit-1"}
    role = await client.post("/v1/roles", headers=headers, json={"name": "helpdesk", "permissions": ["contacts:read"]})
    assert role.status_code == 201, role.text
    changed = await client.patch(
        f"/v1/roles/{role.json()['id']}", headers=headers, json={"permissions": ["contacts:read", "contacts:write"]}
    )
    assert changed.status_code == 200, changed.text
    key = await client.post("/v1/api-keys", headers=headers, json={"name": "desk", "role": "helpdesk"})
    assert key.status_code == 201, key.text
    key_id = key.json()["id"]
    assert (await client.post(f"/v1/api-keys/{key_id}/rotate", headers=headers)).status_code == 200
    assert (await client.delete(f"/v1/api-keys/{key_id}", headers=headers)).status_code == 204
    policy = {"unique": ["email"], "match": [["email"]], "journeys": "exit"}
    assert (await client.put("/v1/identity/merge-policy", headers=headers, json=policy)).status_code == 200
    fields = {"fields": {"email": "masked"}}
    assert (await client.put("/v1/field-policies/helpdesk", headers=headers, json=fields)).status_code == 200

    entries = [e for e in await _entries(client, admin_headers) if e["request_id"] == "req-audit-1"]
    assert [(e["action"], e["target_type"]) for e in entries] == [
        ("role.created", "role"),
        ("role.updated", "role"),
        ("api_key.created", "api_key"),
        ("api_key.rotated", "api_key"),
        ("api_key.revoked", "api_key"),
        ("merge_policy.created", "merge_policy"),
        ("field_policy.created", "field_policy"),
    ]
    admin_key_id = workspace.api_key  # the actor names the key's id, never its secret
    assert all(e["actor"].startswith("key:key_") for e in entries)
    assert not any(admin_key_id in str(e) for e in entries)
    assert entries[1]["before"]["permissions"] == ["contacts:read"]
    assert entries[1]["after"]["permissions"] == ["contacts:read", "contacts:write"]
    assert {e["target_id"] for e in entries[2:5]} == {key_id}
    assert entries[5]["after"]["policy"]["match"] == [["email"]]
    assert set(entries[6]["after"]["fields"]) == {"email"}  # (values under an `email` key are masked in every diff)

    verified = await client.get("/v1/audit/verify", headers=admin_headers)
    assert verified.status_code == 200, verified.text
    assert verified.json()["ok"] is True
    assert verified.json()["problems"] == []


async def test_a_refused_write_leaves_no_entry(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    headers = {**admin_headers, "X-Request-Id": "req-audit-2"}
    bad = await client.post("/v1/roles", headers=headers, json={"name": "x", "permissions": ["nope:read"]})
    assert bad.status_code == 422
    assert (await client.post("/v1/roles", headers=headers, json={"name": "dup", "permissions": []})).is_success
    dup = await client.post("/v1/roles", headers=headers, json={"name": "dup", "permissions": []})
    assert dup.status_code == 409  # the rolled-back insert takes its queued entry with it
    entries = [e for e in await _entries(client, admin_headers) if e["request_id"] == "req-audit-2"]
    assert [e["action"] for e in entries] == ["role.created"]
