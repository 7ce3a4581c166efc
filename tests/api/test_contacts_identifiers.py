"""Contact identifiers through the API on a real database (SQLite, and PostgreSQL when configured): email unique per
workspace by default (any case), phone in E.164, external ids per source, no contact without an identifier, and
the merge policy turning uniqueness on and off."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from store.workspaces import NewWorkspace
from tests.conftest import new_workspace

H = dict[str, str]


async def _create(client: httpx.AsyncClient, headers: H, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/v1/contacts", headers=headers, json=body)


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def _policy(client: httpx.AsyncClient, headers: H, unique: list[str]) -> httpx.Response:
    body = {"unique": unique, "match": [["external_id"], ["email"]]}
    return await client.put("/v1/identity/merge-policy", headers=headers, json=body)


async def test_email_is_unique_per_workspace_in_any_case(
    client: httpx.AsyncClient, admin_headers: H, database_url: str
) -> None:
    first = (await _create(client, admin_headers, {"email": "ada@example.test", "first_name": "Ada"})).json()
    again = await _create(client, admin_headers, {"email": "ADA@Example.test"})
    assert _error(again) == (409, "contact_exists")
    assert again.json()["error"]["details"]["contact_id"] == first["id"]
    other = (await _create(client, admin_headers, {"email": "bob@example.test"})).json()
    moved = await client.patch(f"/v1/contacts/{other['id']}", headers=admin_headers, json={"email": "Ada@example.test"})
    assert _error(moved) == (409, "contact_exists")
    assert moved.json()["error"]["details"]["contact_id"] == first["id"]
    # the failed update changed nothing, and other fields of the contact still update
    renamed = await client.patch(f"/v1/contacts/{other['id']}", headers=admin_headers, json={"first_name": "Bob"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["email"] == "bob@example.test"
    # lookup by email finds the one contact, whatever the case
    for spelling in ("ada@example.test", "ADA@EXAMPLE.TEST"):
        found = await client.get("/v1/contacts/lookup", headers=admin_headers, params={"email": spelling})
        assert found.json()["id"] == first["id"]
    # another workspace may hold the same address
    elsewhere = await new_workspace(database_url)
    created = await _create(client, {"Authorization": f"Bearer {elsewhere.api_key}"}, {"email": "ada@example.test"})
    assert created.status_code == 201, created.text


async def test_two_concurrent_creates_with_one_email_give_one_contact_and_one_409(
    client: httpx.AsyncClient, admin_headers: H
) -> None:
    for round_ in range(3):
        email = f"race-{round_}@example.test"
        responses = await asyncio.gather(*[_create(client, admin_headers, {"email": email}) for _ in range(2)])
        assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
        [winner] = [r.json() for r in responses if r.status_code == 201]
        [loser] = [r.json() for r in responses if r.status_code == 409]
        assert loser["error"]["code"] == "contact_exists"
        assert loser["error"]["details"]["contact_id"] == winner["id"]
    listed = (await client.get("/v1/contacts", headers=admin_headers)).json()["data"]
    assert len(listed) == 3


async def test_phones_are_stored_in_e164_and_invalid_ones_refused(client: httpx.AsyncClient, admin_headers: H) -> None:
    created = await _create(client, admin_headers, {"phone": "+33 6 12 34 56 78"})
    assert created.status_code == 201, created.text
    assert created.json()["phone"] == "+33612345678"
    for bad in ("12", "+1 555", "not a phone"):
        assert _error(await _create(client, admin_headers, {"phone": bad})) == (422, "invalid_phone")
    # a national number needs a region: the workspace calendar's country
    assert _error(await _create(client, admin_headers, {"phone": "06 12 34 56 79"})) == (422, "invalid_phone")
    calendar = await client.put("/v1/workspace/calendar", headers=admin_headers, json={"country": "FR"})
    assert calendar.status_code == 200, calendar.text
    national = await _create(client, admin_headers, {"phone": "06 12 34 56 79"})
    assert national.json()["phone"] == "+33612345679"
    patched = await client.patch(
        f"/v1/contacts/{national.json()['id']}", headers=admin_headers, json={"phone": "+44 20 7946 0958"}
    )
    assert patched.json()["phone"] == "+442079460958"
    refused = await client.patch(f"/v1/contacts/{national.json()['id']}", headers=admin_headers, json={"phone": "1"})
    assert _error(refused) == (422, "invalid_phone")
    # phones are not unique by default
    assert (await _create(client, admin_headers, {"phone": "+33612345678"})).status_code == 201


async def test_external_ids_per_source(client: httpx.AsyncClient, admin_headers: H) -> None:
    created = await _create(client, admin_headers, {"external_ids": {"crm": "0031x", "billing": "cus_1"}})
    assert created.status_code == 201, created.text  # an external id is an identifier
    contact = created.json()
    assert contact["external_ids"] == {"crm": "0031x", "billing": "cus_1"}
    read = (await client.get(f"/v1/contacts/{contact['id']}", headers=admin_headers)).json()
    assert read["external_ids"] == {"crm": "0031x", "billing": "cus_1"}
    taken = await _create(client, admin_headers, {"email": "x@example.test", "external_ids": {"crm": "0031x"}})
    assert _error(taken) == (409, "contact_exists")
    assert taken.json()["error"]["details"]["contact_id"] == contact["id"]
    # the same value under another source is another identifier
    assert (await _create(client, admin_headers, {"external_ids": {"support": "0031x"}})).status_code == 201
    url = f"/v1/contacts/{contact['id']}"
    updated = await client.patch(url, headers=admin_headers, json={"external_ids": {"crm": "0031y", "billing": None}})
    assert updated.json()["external_ids"] == {"crm": "0031y"}
    # the old value is free again; the last identifier cannot be removed
    assert (await _create(client, admin_headers, {"external_ids": {"crm": "0031x"}})).status_code == 201
    last = await client.patch(url, headers=admin_headers, json={"external_ids": {"crm": None}})
    assert _error(last) == (422, "no_identifier")
    listed = (await client.get("/v1/contacts", headers=admin_headers)).json()["data"]
    assert {c["id"]: c["external_ids"] for c in listed}[contact["id"]] == {"crm": "0031y"}
    bad = await _create(client, admin_headers, {"external_ids": {"Not A Source": "1"}})
    assert bad.status_code == 422


async def test_no_identifier_is_refused(client: httpx.AsyncClient, admin_headers: H) -> None:
    bodies: list[dict[str, Any]] = [{}, {"first_name": "Ann"}, {"external_ids": {}}, {"external_ids": {"crm": None}}]
    for body in bodies:
        response = await _create(client, admin_headers, body)
        assert _error(response) == (422, "no_identifier"), body


async def test_the_policy_turns_email_uniqueness_off_and_on(
    client: httpx.AsyncClient, admin_headers: H, workspace: NewWorkspace
) -> None:
    assert (await _policy(client, admin_headers, ["external_id"])).status_code == 200
    older = (await _create(client, admin_headers, {"email": "dup@example.test", "first_name": "Old"})).json()
    newer = (await _create(client, admin_headers, {"email": "Dup@example.test", "first_name": "New"})).json()
    duplicates = (await client.get("/v1/identity/duplicates", headers=admin_headers)).json()["data"]
    assert duplicates == [
        {"identifier": "email", "value": "dup@example.test", "contact_ids": [newer["id"], older["id"]]}
    ]
    refused = await _policy(client, admin_headers, ["email", "external_id"])
    assert _error(refused) == (409, "identifier_not_unique")
    details = refused.json()["error"]["details"]
    assert details["identifier"] == "email"
    assert details["examples"] == [{"value": "dup@example.test", "contact_ids": [newer["id"], older["id"]]}]
    policy = (await client.get("/v1/identity/merge-policy", headers=admin_headers)).json()
    assert policy["unique"] == ["external_id"]  # nothing changed
    assert (await client.delete(f"/v1/contacts/{older['id']}", headers=admin_headers)).status_code == 204
    assert (await _policy(client, admin_headers, ["email", "external_id"])).status_code == 200
    # backfilled: the remaining contact holds the address
    again = await _create(client, admin_headers, {"email": "DUP@example.test"})
    assert again.json()["error"]["details"]["contact_id"] == newer["id"]
    assert (await client.get("/v1/identity/duplicates", headers=admin_headers)).json()["data"] == []


async def test_the_policy_can_make_phone_unique(client: httpx.AsyncClient, admin_headers: H) -> None:
    first = (await _create(client, admin_headers, {"phone": "+14155550100"})).json()
    assert (await _policy(client, admin_headers, ["email", "external_id", "phone"])).status_code == 200
    taken = await _create(client, admin_headers, {"phone": "+1 415 555 0100"})
    assert _error(taken) == (409, "contact_exists")
    assert taken.json()["error"]["details"]["contact_id"] == first["id"]
    phones = (await client.get("/v1/identity/duplicates?identifier=phone", headers=admin_headers)).json()
    assert phones["data"] == []
    assert (await _policy(client, admin_headers, ["email", "external_id"])).status_code == 200
    assert (await _create(client, admin_headers, {"phone": "+1 415 555 0100"})).status_code == 201
