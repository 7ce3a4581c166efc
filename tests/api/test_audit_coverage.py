"""Every critical write of issue 11, driven through the API, leaves an audit entry naming the calling key, the
action, the target, the before/after diff (with a sensitive field masked where the write has one) and the request
id the response carried in X-Request-Id; and the chain still verifies. On SQLite and PostgreSQL, against the real
Temporal dev server (publishing, pausing and migrating journeys start Temporal work)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from store.workspaces import NewWorkspace, find_api_key
from tests.api.ingest_support import Sessions, contacts, post
from tests.api.test_dead_letters import seed
from tests.api.test_journey_control import V1, V2
from tests.api.test_providers import sendgrid

REDACTED = "[redacted]"


class Audit:
    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str], actor: str) -> None:
        self.client, self.headers, self.actor = client, headers, actor

    async def call(self, method: str, url: str, status: int, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response = await self.client.request(method, url, headers=headers, **kwargs)
        assert response.status_code == status, (url, response.text)
        return response

    async def entries(self, response: httpx.Response) -> list[dict[str, Any]]:
        """The entries recorded by the request that answered `response` (its X-Request-Id)."""
        request_id = response.headers["X-Request-Id"]
        listed = await self.client.get("/v1/audit", headers=self.headers, params={"limit": 200})
        rows = [e for e in listed.json()["data"] if e["request_id"] == request_id]
        assert rows, f"no audit entry for {response.request.method} {response.request.url.path}"
        assert all(e["actor"] == self.actor for e in rows), rows
        return rows

    async def one(self, response: httpx.Response, action: str, target_id: str | None = None) -> dict[str, Any]:
        rows = [e for e in await self.entries(response) if e["action"] == action]
        assert len(rows) == 1, (action, await self.entries(response))
        if target_id is not None:
            assert rows[0]["target_id"] == target_id
        return rows[0]


async def _finished(audit: Audit, journey_id: str, answer: httpx.Response) -> None:
    """Wait for a batch operation to end: the dev server runs one at a time."""
    url = f"/v1/journeys/{journey_id}/operations/{answer.json()['id']}"
    for _ in range(300):
        if (await audit.call("GET", url, 200)).json()["state"] != "running":
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} still running")


async def _audit(client: httpx.AsyncClient, admin_headers: dict[str, str], db: Sessions, ws: NewWorkspace) -> Audit:
    async with db() as session:
        key = await find_api_key(session, ws.api_key)
    assert key is not None
    return Audit(client, admin_headers, f"key:{key.id}")


async def test_contacts_consent_and_imports_are_audited(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Sessions, workspace: NewWorkspace
) -> None:
    audit = await _audit(client, admin_headers, db, workspace)
    created = await audit.call("POST", "/v1/contacts", 201, json={"email": "ada@example.com", "first_name": "Ada"})
    contact_id = created.json()["id"]
    entry = await audit.one(created, "contact.created", contact_id)
    assert entry["target_type"] == "contact"
    assert entry["before"] is None
    assert entry["after"]["email"] == "a***@example.com"  # masked
    assert "ada@example.com" not in str(entry)  # nowhere whole (its unique key is derived, not audited)
    assert entry["after"]["first_name"] == "Ada"

    patched = await audit.call("PATCH", f"/v1/contacts/{contact_id}", 200, json={"first_name": "Grace"})
    entry = await audit.one(patched, "contact.updated", contact_id)
    assert (entry["before"]["first_name"], entry["after"]["first_name"]) == ("Ada", "Grace")
    assert "email" not in entry["after"]  # changed columns only

    changes = {"changes": [{"channel": "email", "status": "withdrawn"}]}
    consent = await audit.call("PUT", f"/v1/contacts/{contact_id}/consent", 200, json=changes)
    entry = await audit.one(consent, "consent.created")
    assert entry["after"]["contact_id"] == contact_id
    assert (entry["after"]["channel"], entry["after"]["status"]) == ("email", "withdrawn")
    changes = {"changes": [{"channel": "email", "status": "granted"}]}
    consent = await audit.call("PUT", f"/v1/contacts/{contact_id}/consent", 200, json=changes)
    entry = await audit.one(consent, "consent.updated")
    assert (entry["before"]["status"], entry["after"]["status"]) == ("withdrawn", "granted")
    assert entry["after"]["contact_id"] == contact_id  # identifying columns ride along

    csv = b"Email,First\nbob@example.com,Bob\n"
    mapping = '{"Email": "email", "First": "first_name"}'
    started = await audit.call(
        "POST", "/v1/imports", 202, content=csv, headers={"Content-Type": "text/csv", "Import-Mapping": mapping}
    )
    import_id = started.json()["id"]
    rows = await audit.entries(started)
    assert [e["action"] for e in rows] == ["import.created", "import.started"]  # one entry per step, not per row
    assert {e["target_id"] for e in rows} == {import_id}
    assert rows[1]["after"]["status"] == "queued"

    deleted = await audit.call("DELETE", f"/v1/contacts/{contact_id}", 204)
    entry = await audit.one(deleted, "contact.deleted", contact_id)
    assert entry["before"]["email"] == "a***@example.com"
    assert entry["after"] is None


async def test_journey_publish_pause_and_migrate_are_audited(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Sessions, workspace: NewWorkspace
) -> None:
    audit = await _audit(client, admin_headers, db, workspace)
    created = await audit.call("POST", "/v1/journeys", 201, json={"name": "Audited", "definition": V1})
    journey_id = created.json()["id"]
    await audit.one(created, "journey.created", journey_id)
    published = await audit.call("POST", f"/v1/journeys/{journey_id}/publish", 200)
    entry = await audit.one(published, "journey.published", journey_id)
    assert (entry["before"]["status"], entry["after"]["status"]) == ("draft", "published")
    assert entry["after"]["published_version"] == 1
    await audit.call("PATCH", f"/v1/journeys/{journey_id}", 200, json={"definition": V2})
    await audit.call("POST", f"/v1/journeys/{journey_id}/publish", 200)

    paused = await audit.call("POST", f"/v1/journeys/{journey_id}/pause", 202)
    entry = await audit.one(paused, "journey.paused", journey_id)
    assert entry["before"]["paused_at"] is None
    assert entry["after"]["paused_at"]
    await _finished(audit, journey_id, paused)
    resumed = await audit.call("POST", f"/v1/journeys/{journey_id}/resume", 202)
    await audit.one(resumed, "journey.resumed", journey_id)
    await _finished(audit, journey_id, resumed)

    body = {"from_version": 1, "to_version": 2, "node_map": {"w1": "w2"}, "dry_run": False}
    migrated = await audit.call("POST", f"/v1/journeys/{journey_id}/migrate", 202, json=body)
    entry = await audit.one(migrated, "journey.migrated", journey_id)
    assert entry["before"] == {"version": 1}
    assert entry["after"]["version"] == 2
    assert entry["after"]["node_map"] == {"w1": "w2"}
    assert entry["after"]["operation_id"] == migrated.json()["operation"]["id"]
    dry = await audit.call("POST", f"/v1/journeys/{journey_id}/migrate", 200, json={**body, "dry_run": True})
    listed = await client.get("/v1/audit", headers=admin_headers, params={"limit": 200})
    assert not [e for e in listed.json()["data"] if e["request_id"] == dry.headers["X-Request-Id"]]  # a dry run


async def test_providers_and_sending_domains_are_audited(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Sessions, workspace: NewWorkspace
) -> None:
    audit = await _audit(client, admin_headers, db, workspace)
    created = await audit.call("POST", "/v1/providers", 201, json=sendgrid())
    provider_id = created.json()["id"]
    entry = await audit.one(created, "provider.created", provider_id)
    assert entry["after"]["secrets"] == REDACTED  # the encrypted credentials never reach the log
    assert "SG.secret" not in str(entry)
    patched = await audit.call("PATCH", f"/v1/providers/{provider_id}", 200, json={"priority": 5})
    entry = await audit.one(patched, "provider.updated", provider_id)
    assert (entry["before"]["priority"], entry["after"]["priority"]) == (100, 5)
    removed = await audit.call("DELETE", f"/v1/providers/{provider_id}", 204)
    assert (await audit.one(removed, "provider.deleted", provider_id))["before"]["secrets"] == REDACTED

    domain = await audit.call("POST", "/v1/sending-domains", 201, json={"domain": "audit.example"})
    domain_id = domain.json()["id"]
    entry = await audit.one(domain, "sending_domain.created", domain_id)
    assert entry["after"]["domain"] == "audit.example"
    assert entry["after"]["dkim_private_key"] == REDACTED
    gone = await audit.call("DELETE", f"/v1/sending-domains/{domain_id}", 204)
    await audit.one(gone, "sending_domain.deleted", domain_id)


async def test_roles_users_and_keys_are_audited(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Sessions, workspace: NewWorkspace
) -> None:
    audit = await _audit(client, admin_headers, db, workspace)
    role = await audit.call("POST", "/v1/roles", 201, json={"name": "desk", "permissions": ["contacts:read"]})
    await audit.one(role, "role.created", role.json()["id"])
    user = await audit.call("POST", "/v1/users", 201, json={"email": "eve@example.test", "name": "Eve", "role": "desk"})
    user_id = user.json()["id"]
    entry = await audit.one(user, "user.created", user_id)
    assert entry["after"]["email"] == "e***@example.test"
    assert (await audit.one(user, "membership.created", user_id))["after"]["role"] == "desk"
    changed = await audit.call("PATCH", f"/v1/users/{user_id}", 200, json={"role": "viewer"})
    entry = await audit.one(changed, "membership.updated", user_id)
    assert (entry["before"]["role"], entry["after"]["role"]) == ("desk", "viewer")

    key = await audit.call("POST", "/v1/api-keys", 201, json={"name": "desk", "role": "desk"})
    key_id = key.json()["id"]
    entry = await audit.one(key, "api_key.created", key_id)
    assert entry["after"]["key_hash"] == REDACTED
    rotated = await audit.call("POST", f"/v1/api-keys/{key_id}/rotate", 200)
    assert (await audit.one(rotated, "api_key.rotated", key_id))["after"]["key_hash"] == REDACTED
    revoked = await audit.call("DELETE", f"/v1/api-keys/{key_id}", 204)
    await audit.one(revoked, "api_key.revoked", key_id)
    removed = await audit.call("DELETE", f"/v1/users/{user_id}", 204)
    await audit.one(removed, "membership.deleted", user_id)


async def test_segments_scoring_rules_and_dead_letter_replays_are_audited(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Sessions, workspace: NewWorkspace
) -> None:
    audit = await _audit(client, admin_headers, db, workspace)
    plan = {"attribute": "plan", "op": "eq", "value": "pro"}
    segment = await audit.call("POST", "/v1/segments", 201, json={"name": "Pro", "filter": plan})
    segment_id = segment.json()["id"]
    assert (await audit.one(segment, "segment.created", segment_id))["after"]["name"] == "Pro"
    renamed = await audit.call("PATCH", f"/v1/segments/{segment_id}", 200, json={"name": "Pro plan"})
    entry = await audit.one(renamed, "segment.updated", segment_id)
    assert (entry["before"]["name"], entry["after"]["name"]) == ("Pro", "Pro plan")
    dropped = await audit.call("DELETE", f"/v1/segments/{segment_id}", 204)
    assert (await audit.one(dropped, "segment.deleted", segment_id))["before"]["name"] == "Pro plan"

    rule = {"name": "Pricing page", "group": "interest", "points": 5, "event": "Viewed Pricing"}
    created = await audit.call("POST", "/v1/scoring/rules", 201, json=rule)
    rule_id = created.json()["id"]
    await audit.one(created, "scoring_rule.created", rule_id)
    replaced = await audit.call("PUT", f"/v1/scoring/rules/{rule_id}", 200, json={**rule, "points": 7})
    entry = await audit.one(replaced, "scoring_rule.updated", rule_id)
    assert entry["before"] != entry["after"]
    deleted = await audit.call("DELETE", f"/v1/scoring/rules/{rule_id}", 204)
    await audit.one(deleted, "scoring_rule.deleted", rule_id)

    await seed(db, workspace.workspace.id)
    replay = await audit.call("POST", "/v1/dead-letters/replay", 200, json={"kind": "dispatch"})
    [outcome] = replay.json()["outcomes"]
    entry = await audit.one(replay, "dead_letter.replayed", str(outcome["id"]))
    assert entry["target_type"] == "dead_letter"
    assert (entry["before"]["status"], entry["after"]["status"]) == ("open", "replayed")

    verified = (await client.get("/v1/audit/verify", headers=admin_headers)).json()
    assert verified["ok"] is True, verified["problems"]


async def test_the_ingestion_data_plane_is_not_audited_row_by_row(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    db: Sessions,
    workspace: NewWorkspace,
    auth: dict[str, str],
) -> None:
    """Segment identify/track batches change contacts at thousands a second: the event log is their record."""
    before = (await client.get("/v1/audit/verify", headers=admin_headers)).json()["entries"]
    traits = {"email": "ivy@example.com", "firstName": "Ivy"}
    await post(client, "/v1/identify", auth, {"userId": "u-audit", "traits": traits})
    await post(client, "/v1/identify", auth, {"userId": "u-audit", "traits": {"firstName": "Iris"}})
    assert [c.first_name for c in await contacts(db, workspace.workspace.id)] == ["Iris"]
    assert (await client.get("/v1/audit/verify", headers=admin_headers)).json()["entries"] == before
