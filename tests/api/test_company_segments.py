"""Segments on companies through the API: a company filter previews, counts and lists the right contacts (no
company and another workspace's company never match), an unknown company field is a 422 naming the path, and
company updates and deletes queue the rows that keep those segments current."""

from __future__ import annotations

from typing import Any

import httpx

from domain.events.interest import OutboxKind
from store.models import Contact
from store.models_companies import Company
from store.workspaces import NewWorkspace
from tests.api.ingest_support import Sessions
from tests.conftest import new_workspace
from tests.outbox_rows import outbox

ENTERPRISE = {"company": {"field": "attributes.plan", "op": "eq", "value": "enterprise"}}


async def _made(client: httpx.AsyncClient, headers: dict[str, str], path: str, body: dict[str, Any]) -> str:
    answer = await client.post(path, headers=headers, json=body)
    assert answer.status_code == 201, answer.text
    made: str = answer.json()["id"]
    return made


async def _preview(client: httpx.AsyncClient, headers: dict[str, str], filter_: dict[str, Any]) -> int:
    answer = await client.post("/v1/segments/preview", headers=headers, json={"filter": filter_})
    assert answer.status_code == 200, answer.text
    count: int = answer.json()["count"]
    return count


async def test_a_company_filter_picks_the_contacts_of_matching_companies(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace, db: Sessions,
    database_url: str,
) -> None:  # fmt: skip
    h = admin_headers
    acme = await _made(client, h, "/v1/companies", {"name": "Acme", "domain": "acme.io",
                                                    "attributes": {"plan": "enterprise", "seats": 250}})  # fmt: skip
    tiny = await _made(client, h, "/v1/companies", {"name": "Tiny", "attributes": {"plan": "free", "seats": 2}})
    ada = await _made(client, h, "/v1/contacts", {"email": "ada@acme.io", "company_id": acme})
    bob = await _made(client, h, "/v1/contacts", {"email": "bob@acme.io", "company_id": acme})
    await _made(client, h, "/v1/contacts", {"email": "cy@tiny.io", "company_id": tiny})
    await _made(client, h, "/v1/contacts", {"email": "dee@nowhere.io"})
    # a contact pointing at another workspace's enterprise company (only a bad write could do it) never matches
    foreign = (await new_workspace(database_url)).workspace.id
    async with db() as session:
        session.add(Company(id="co_foreign_" + foreign[-8:], workspace_id=foreign, name="F",
                            attributes={"plan": "enterprise"}))  # fmt: skip
        session.add(Contact(id="ct_stray_" + foreign[-8:], workspace_id=workspace.workspace.id, email="s@x.io",
                            company_id="co_foreign_" + foreign[-8:]))  # fmt: skip
        await session.commit()

    assert await _preview(client, h, ENTERPRISE) == 2
    assert await _preview(client, h, {"company": {"field": "attributes.seats", "op": "lt", "value": 10}}) == 1
    assert await _preview(client, h, {"company": {"field": "domain", "op": "exists", "value": False}}) == 1
    assert await _preview(client, h, {"not": ENTERPRISE}) == 3  # tiny's, no company, and the stray
    assert await _preview(client, h, {"not": {"company": {"field": "id", "op": "exists"}}}) == 2
    segment = await client.post("/v1/segments", headers=h, json={"name": "enterprise", "filter": ENTERPRISE})
    assert segment.status_code == 201, segment.text
    assert segment.json()["member_count"] == 2
    members = await client.get(f"/v1/segments/{segment.json()['id']}/members", headers=h)
    assert sorted(m["id"] for m in members.json()["data"]) == sorted([ada, bob])


async def test_an_unknown_company_field_is_a_422_naming_the_path(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    bad = {"and": [ENTERPRISE, {"company": {"field": "revenue", "op": "gt", "value": 1}}]}
    answer = await client.post("/v1/segments", headers=admin_headers, json={"name": "x", "filter": bad})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_segment_filter"
    assert error["details"]["path"] == "filter.and[1].company"
    assert "unknown company field 'revenue'" in error["message"]


async def test_company_updates_and_deletes_queue_rows_for_segments_reading_companies(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace, db: Sessions
) -> None:
    h, ws = admin_headers, workspace.workspace.id
    acme = await _made(client, h, "/v1/companies", {"name": "Acme"})
    ada = await _made(client, h, "/v1/contacts", {"email": "ada@acme.io", "company_id": acme})
    quiet = await client.patch(f"/v1/companies/{acme}", headers=h, json={"attributes": {"plan": "pro"}})
    assert quiet.status_code == 200, quiet.text
    assert [r for r in await outbox(db, ws) if r.kind == OutboxKind.COMPANY] == []  # nobody reads companies yet

    await _made(client, h, "/v1/segments", {"name": "enterprise", "filter": ENTERPRISE})
    patched = await client.patch(f"/v1/companies/{acme}", headers=h, json={"attributes": {"plan": "enterprise"}})
    assert patched.status_code == 200, patched.text
    rows = [(r.kind, r.contact_id, r.name) for r in await outbox(db, ws)]
    assert (OutboxKind.COMPANY, acme, acme) in rows
    assert (await client.delete(f"/v1/companies/{acme}", headers=h)).status_code == 204
    rows = [(r.kind, r.contact_id, r.name) for r in await outbox(db, ws)]
    assert rows[-1] == (OutboxKind.CONTACT, ada, "updated")  # unlinked: it leaves the segment
