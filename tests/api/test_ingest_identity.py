"""Identify traits and the workspace merge policy on a real database (SQLite, and PostgreSQL when configured):
`traits.email` names the contact holding it when no unique identifier conflicts; a conflicting or invalid message
is refused alone (a recorded rejection with a stable code), never the batch, never a 500; phones in E.164."""

from __future__ import annotations

from typing import Any

import httpx

from store.workspaces import NewWorkspace
from tests.api.ingest_support import Sessions, contacts, events, identities, post, ws

H = dict[str, str]


def identify(mid: str, traits: dict[str, Any], user: str | None = None, anon: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "identify", "messageId": mid, "traits": traits}
    if user:
        message["userId"] = user
    if anon:
        message["anonymousId"] = anon
    return message


async def _rejections(client: httpx.AsyncClient, headers: H) -> list[dict[str, Any]]:
    response = await client.get("/v1/ingest/rejections", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


async def test_traits_email_resolves_to_the_contact_holding_it(
    client: httpx.AsyncClient, auth: H, admin_headers: H, workspace: NewWorkspace, db: Sessions
) -> None:
    created = await client.post("/v1/contacts", headers=admin_headers, json={"email": "ann@example.test"})
    contact_id = created.json()["id"]
    # a new user id whose email an unclaimed contact holds: that contact, which takes the user id
    await post(client, "/v1/identify", auth, identify("m1", {"email": "ANN@example.test"}, user="u-ann"))
    # an unknown anonymous id with the same email: the same contact
    await post(client, "/v1/identify", auth, identify("m2", {"email": "ann@example.test", "plan": "pro"}, anon="a-1"))
    [contact] = await contacts(db, ws(workspace))
    assert (contact.id, contact.external_id, contact.attributes) == (contact_id, "u-ann", {"plan": "pro"})
    assert {e.contact_id for e in await events(db, ws(workspace))} == {contact_id}
    assert ("anonymous", "a-1", contact_id) in await identities(db, ws(workspace))


async def test_a_conflicting_identify_is_rejected_alone(
    client: httpx.AsyncClient, auth: H, admin_headers: H, workspace: NewWorkspace, db: Sessions
) -> None:
    await post(client, "/v1/identify", auth, identify("m1", {"email": "bo@example.test"}, user="u-1"))
    await post(client, "/v1/identify", auth, identify("m2", {"email": "cy@example.test"}, user="u-2"))
    batch = [
        identify("b1", {"email": "bo@example.test"}, user="u-3"),  # a new user, an email u-1 holds
        identify("b2", {"email": "bo@example.test"}, user="u-2"),  # u-2 taking u-1's email
        identify("b3", {"email": "dee@example.test"}, user="u-4"),  # fine
        identify("b4", {"email": "dee@example.test"}, user="u-5"),  # the email b3 just gave u-4
        {"type": "track", "event": "Viewed", "userId": "u-1", "messageId": "b5"},
    ]
    response = await client.post("/v1/batch", headers=auth, json={"batch": batch})
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "rejected": 3}
    rejected = await _rejections(client, admin_headers)
    assert sorted((r["message_id"], r["code"], r["batch_index"]) for r in rejected) == [
        ("b1", "identifier_conflict", 0),
        ("b2", "identifier_conflict", 1),
        ("b4", "identifier_conflict", 3),
    ]
    stored = {e.message_id for e in await events(db, ws(workspace))}
    assert stored == {"m1", "m2", "b3", "b5"}
    by_user = {c.external_id: c.email for c in await contacts(db, ws(workspace))}
    assert by_user == {"u-1": "bo@example.test", "u-2": "cy@example.test", "u-4": "dee@example.test"}
    # sent alone, the same conflict is a 400 with its code, and recorded
    single = await client.post("/v1/identify", headers=auth, json=identify("s1", {"email": "bo@example.test"}, "u-9"))
    assert (single.status_code, single.json()["error"]["code"]) == (400, "identifier_conflict")
    assert "s1" in {r["message_id"] for r in await _rejections(client, admin_headers)}


async def test_email_not_unique_by_policy_is_shared(
    client: httpx.AsyncClient, auth: H, admin_headers: H, workspace: NewWorkspace, db: Sessions
) -> None:
    policy = {"unique": ["external_id"], "match": [["external_id"]]}
    assert (await client.put("/v1/identity/merge-policy", headers=admin_headers, json=policy)).status_code == 200
    await post(client, "/v1/identify", auth, identify("m1", {"email": "team@example.test"}, user="u-1"))
    await post(client, "/v1/identify", auth, identify("m2", {"email": "team@example.test"}, user="u-2"))
    assert sorted(c.external_id or "" for c in await contacts(db, ws(workspace))) == ["u-1", "u-2"]
    assert await _rejections(client, admin_headers) == []


async def test_phones_are_e164_and_invalid_ones_rejected(
    client: httpx.AsyncClient, auth: H, admin_headers: H, workspace: NewWorkspace, db: Sessions
) -> None:
    batch = [
        identify("p1", {"phone": "+1 (415) 555-0100"}, user="u-1"),
        identify("p2", {"phone": "555"}, user="u-2"),
        identify("p3", {"phone": "020 7946 0958"}, user="u-3"),  # national: no workspace region yet
    ]
    response = await client.post("/v1/batch", headers=auth, json={"batch": batch})
    assert response.json() == {"success": True, "rejected": 2}
    assert sorted((r["message_id"], r["code"]) for r in await _rejections(client, admin_headers)) == [
        ("p2", "invalid_phone"),
        ("p3", "invalid_phone"),
    ]
    assert await client.put("/v1/workspace/calendar", headers=admin_headers, json={"country": "GB"})
    await post(client, "/v1/identify", auth, identify("p4", {"phone": "020 7946 0958"}, user="u-3"))
    phones = {c.external_id: c.phone for c in await contacts(db, ws(workspace))}
    assert phones == {"u-1": "+14155550100", "u-3": "+442079460958"}
    # unique phones when the policy says so
    policy = {"unique": ["email", "external_id", "phone"], "match": [["external_id"], ["email"]]}
    assert (await client.put("/v1/identity/merge-policy", headers=admin_headers, json=policy)).status_code == 200
    taken = await client.post("/v1/identify", headers=auth, json=identify("p5", {"phone": "+14155550100"}, "u-7"))
    assert (taken.status_code, taken.json()["error"]["code"]) == (400, "identifier_conflict")


async def test_a_refused_identify_beside_group_calls_refuses_only_itself(
    client: httpx.AsyncClient, auth: H, admin_headers: H, workspace: NewWorkspace, db: Sessions
) -> None:
    """A batch mixing a refused identify with group calls: the group messages after it still link their own
    contacts (refusals and companies are matched message by message)."""
    await post(client, "/v1/identify", auth, identify("m1", {"email": "bo@example.test"}, user="u-1"))
    batch = [
        identify("g0", {"email": "bo@example.test"}, user="u-2"),  # refused: u-1 holds that email
        {"type": "group", "messageId": "g1", "userId": "u-3", "groupId": "acme", "traits": {"name": "Acme"}},
        {"type": "group", "messageId": "g2", "userId": "u-1", "groupId": "initech", "traits": {"name": "Initech"}},
    ]
    response = await client.post("/v1/batch", headers=auth, json={"batch": batch})
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "rejected": 1}
    companies = {c.external_id: c.company_id for c in await contacts(db, ws(workspace))}
    assert set(companies) == {"u-1", "u-3"}
    assert companies["u-1"] is not None
    assert companies["u-3"] is not None
    assert companies["u-1"] != companies["u-3"]
