"""Hostile text and JSON on every REST body: a 422 naming the field and nothing stored, never a 500.

On main, NUL in these fields was a 500 on PostgreSQL, and attributes nested 300 deep were stored and then made
every read of the contact a 500.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy import text as sql
from sqlmodel import col

from domain.ids import new_id
from domain.json_limits import CLIPPED, MAX_JSON_DEPTH, MAX_JSON_KEYS, MAX_JSON_STRING_CHARS
from store.models import ApiKey, Contact, DeliveryProvider, Journey, Suppression
from store.workspaces import NewWorkspace
from tests.api.ingest_support import Sessions, basic
from tests.api.test_journeys import DEFINITION

Headers = dict[str, str]


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


async def send(client: httpx.AsyncClient, method: str, url: str, headers: Headers, body: Any) -> httpx.Response:
    """JSON with \\u escapes, so lone surrogates travel as a client would send them."""
    content = json.dumps(body).encode()
    return await client.request(method, url, content=content, headers={**headers, "Content-Type": "application/json"})


async def count(db: Sessions, table: Any, workspace_id: str) -> int:
    async with db() as session:
        return (await session.scalar(select(func.count()).where(col(table.workspace_id) == workspace_id))) or 0


def assert_422_at(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert any(detail["loc"][:2] == ["body", field] for detail in error["details"]), error


BAD_TEXT = ["nul\x00here", "lone \ud800 surrogate", "\udfff"]


@pytest.mark.parametrize("text", BAD_TEXT)
@pytest.mark.parametrize("field", ["first_name", "last_name", "external_id", "phone"])
async def test_contact_text_fields(
    client: httpx.AsyncClient, admin_headers: Headers, workspace: NewWorkspace, db: Sessions, field: str, text: str
) -> None:
    assert_422_at(await send(client, "POST", "/v1/contacts", admin_headers, {field: text}), field)
    created = await client.post("/v1/contacts", headers=admin_headers, json={"email": "a@example.test"})
    url = f"/v1/contacts/{created.json()['id']}"
    assert_422_at(await send(client, "PATCH", url, admin_headers, {field: text}), field)
    assert (await client.get(url, headers=admin_headers)).json()[field] is None
    assert await count(db, Contact, workspace.workspace.id) == 1


@pytest.mark.parametrize("text", BAD_TEXT)
async def test_contact_attributes_keys_and_values(
    client: httpx.AsyncClient, admin_headers: Headers, workspace: NewWorkspace, db: Sessions, text: str
) -> None:
    for attributes in ({"plan": text}, {text: 1}, {"list": [1, {"deep": [text]}]}):
        response = await send(client, "POST", "/v1/contacts", admin_headers, {"attributes": attributes})
        assert_422_at(response, "attributes")
    assert await count(db, Contact, workspace.workspace.id) == 0


async def test_api_key_name(
    client: httpx.AsyncClient, admin_headers: Headers, workspace: NewWorkspace, db: Sessions
) -> None:
    before = await count(db, ApiKey, workspace.workspace.id)
    for text in BAD_TEXT:
        response = await send(
            client, "POST", "/v1/api-keys", admin_headers, {"name": text, "scopes": ["contacts:read"]}
        )
        assert_422_at(response, "name")
    assert await count(db, ApiKey, workspace.workspace.id) == before


@pytest.mark.parametrize("text", BAD_TEXT)
async def test_journey_name_and_definition(
    client: httpx.AsyncClient, admin_headers: Headers, workspace: NewWorkspace, db: Sessions, text: str
) -> None:
    assert_422_at(
        await send(client, "POST", "/v1/journeys", admin_headers, {"name": text, "definition": DEFINITION}), "name"
    )
    bad_event = copy.deepcopy(DEFINITION)
    bad_event["trigger"]["event"] = f"Signed{text}Up"  # on main: created 201, then publish was a 500
    response = await send(client, "POST", "/v1/journeys", admin_headers, {"name": "J", "definition": bad_event})
    assert_422_at(response, "definition")
    bad_step = copy.deepcopy(DEFINITION)
    bad_step["steps"][0]["text"] = text
    assert_422_at(
        await send(client, "POST", "/v1/journeys", admin_headers, {"name": "J", "definition": bad_step}), "definition"
    )

    created = await client.post("/v1/journeys", headers=admin_headers, json={"name": "J", "definition": DEFINITION})
    url = f"/v1/journeys/{created.json()['id']}"
    assert_422_at(await send(client, "PATCH", url, admin_headers, {"name": text}), "name")
    assert_422_at(await send(client, "PATCH", url, admin_headers, {"definition": bad_event}), "definition")
    published = await client.post(f"{url}/publish", headers=admin_headers)
    assert published.status_code == 200, published.text
    assert published.json()["definition"]["trigger"]["event"] == "Signed Up"
    assert await count(db, Journey, workspace.workspace.id) == 1


@pytest.mark.parametrize("text", BAD_TEXT)
async def test_delivery_bodies(
    client: httpx.AsyncClient, admin_headers: Headers, workspace: NewWorkspace, db: Sessions, text: str
) -> None:
    suppression = {"channel": "email", "address": f"a{text}@example.test"}
    assert_422_at(await send(client, "POST", "/v1/suppressions", admin_headers, suppression), "address")
    provider = {"name": "sg", "type": "sendgrid", "channel": "email", "config": {"api_key": f"SG.{text}"}}
    assert_422_at(await send(client, "POST", "/v1/providers", admin_headers, provider), "config")
    domain = await send(client, "POST", "/v1/sending-domains", admin_headers, {"domain": f"mail{text}.example.com"})
    assert_422_at(domain, "domain")
    assert await count(db, Suppression, workspace.workspace.id) == 0
    assert await count(db, DeliveryProvider, workspace.workspace.id) == 0


@pytest.mark.parametrize(
    ("attributes", "problem"),
    [
        pytest.param(nested(300), "nested deeper", id="300-deep"),
        pytest.param(nested(MAX_JSON_DEPTH + 1), "nested deeper", id="one-too-deep"),
        pytest.param({f"k{i}": i for i in range(MAX_JSON_KEYS + 1)}, "entries", id="too-many-keys"),
        pytest.param({"list": list(range(MAX_JSON_KEYS + 1))}, "entries", id="too-long-list"),
        pytest.param({"s": "x" * (MAX_JSON_STRING_CHARS + 1)}, "longer than", id="too-long-string"),
    ],
)
async def test_contact_attributes_are_bounded(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    workspace: NewWorkspace,
    db: Sessions,
    attributes: dict[str, Any],
    problem: str,
) -> None:
    response = await client.post("/v1/contacts", headers=admin_headers, json={"attributes": attributes})
    assert_422_at(response, "attributes")
    assert problem in response.json()["error"]["details"][0]["msg"]
    created = await client.post("/v1/contacts", headers=admin_headers, json={"email": "b@example.test"})
    patched = await client.patch(
        f"/v1/contacts/{created.json()['id']}", headers=admin_headers, json={"attributes": attributes}
    )
    assert_422_at(patched, "attributes")
    assert await count(db, Contact, workspace.workspace.id) == 1


async def test_attributes_at_the_bounds_are_accepted(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    attributes = {"deep": nested(MAX_JSON_DEPTH - 1), "s": "x" * MAX_JSON_STRING_CHARS, "emoji": "\U0001f600"}
    body = {"email": "bounds@example.test", "attributes": attributes}
    response = await client.post("/v1/contacts", headers=admin_headers, json=body)
    assert response.status_code == 201, response.text
    assert response.json()["attributes"] == attributes


async def test_journey_filter_values_are_bounded(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    definition = copy.deepcopy(DEFINITION)
    definition["trigger"]["where"] = [{"property": "plan", "op": "eq", "value": nested(300)}]
    response = await client.post("/v1/journeys", headers=admin_headers, json={"name": "J", "definition": definition})
    assert response.status_code == 422, response.text
    definition["trigger"]["where"][0]["value"] = "x" * (MAX_JSON_STRING_CHARS + 1)
    response = await client.post("/v1/journeys", headers=admin_headers, json={"name": "J", "definition": definition})
    assert response.status_code == 422, response.text


async def test_a_contact_stored_too_deep_before_the_bound_still_reads(
    client: httpx.AsyncClient, admin_headers: Headers, workspace: NewWorkspace, db: Sessions
) -> None:
    contact_id = new_id("ct")
    async with db() as session:
        session.add(
            Contact(
                id=contact_id,
                workspace_id=workspace.workspace.id,
                external_id="deep-1",
                attributes={"plan": "pro", "deep": nested(300)},
            )
        )
        await session.commit()

    listed = await client.get("/v1/contacts", headers=admin_headers)
    assert listed.status_code == 200, listed.text
    [row] = listed.json()["data"]
    assert row["attributes"]["plan"] == "pro"
    clipped = row["attributes"]["deep"]
    for _ in range(MAX_JSON_DEPTH - 1):  # attributes is level 1, "deep" level 2: level 33 is clipped
        clipped = clipped["a"]
    assert clipped == CLIPPED

    assert (await client.get(f"/v1/contacts/{contact_id}", headers=admin_headers)).status_code == 200
    lookup = await client.get("/v1/contacts/lookup", headers=admin_headers, params={"external_id": "deep-1"})
    assert lookup.status_code == 200, lookup.text
    patched = await client.patch(f"/v1/contacts/{contact_id}", headers=admin_headers, json={"first_name": "Deep"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["first_name"] == "Deep"


async def test_ingestion_applies_the_same_json_bounds(
    client: httpx.AsyncClient, workspace: NewWorkspace, db: Sessions
) -> None:
    """Identify traits become contact attributes: the REST API's bounds hold for them too (on main a trait
    nested 200 deep was stored)."""
    auth = basic(workspace.write_key)
    for traits in (nested(MAX_JSON_DEPTH), {f"k{i}": i for i in range(MAX_JSON_KEYS + 1)}):
        response = await client.post("/v1/identify", headers=auth, json={"userId": "u-deep", "traits": traits})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "invalid_message"
    assert await count(db, Contact, workspace.workspace.id) == 0
    fine = await client.post(
        "/v1/identify", headers=auth, json={"userId": "u-ok", "traits": nested(MAX_JSON_DEPTH - 3)}
    )
    assert fine.status_code == 200, fine.text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("contact_id", "ct_\x00"),
        ("idempotency_key", "lone \ud800 surrogate"),
        ("properties", {"note": "nul\x00here"}),
        ("properties", nested(MAX_JSON_DEPTH + 290)),
    ],
)
async def test_journey_enroll_body(
    client: httpx.AsyncClient, admin_headers: Headers, db: Sessions, field: str, value: Any
) -> None:
    api_trigger = {**DEFINITION, "trigger": {"api": True}}
    created = await client.post("/v1/journeys", headers=admin_headers, json={"name": "J", "definition": api_trigger})
    journey_id = created.json()["id"]
    assert (await client.post(f"/v1/journeys/{journey_id}/publish", headers=admin_headers)).status_code == 200
    contact = await client.post("/v1/contacts", headers=admin_headers, json={"email": "e@example.test"})
    body = {"contact_id": contact.json()["id"], field: value}
    response = await send(client, "POST", f"/v1/journeys/{journey_id}/enroll", admin_headers, body)
    assert_422_at(response, field)
    async with db() as session:
        queued = await session.scalar(sql("SELECT count(*) FROM dispatch_outbox WHERE kind = 'enroll'"))
    assert queued == 0  # nothing queued for the dispatcher
