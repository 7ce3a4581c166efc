"""Segment `group` calls: the company keyed by groupId is created or updated from the traits and the contact
linked to it; a bad group message in a batch is set aside alone; a retried group changes nothing."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from domain.events.interest import OutboxKind
from store.models_companies import Company
from store.workspaces import NewWorkspace
from tests.api.ingest_support import Sessions, contacts, post, ws
from tests.outbox_rows import outbox


async def companies(db: Sessions, workspace_id: str) -> list[Company]:
    async with db() as session:
        result = await session.execute(
            select(Company).where(Company.workspace_id == workspace_id).order_by(Company.external_id)  # type: ignore[arg-type]
        )
        return list(result.scalars())


async def test_group_creates_the_company_links_the_contact_then_updates_it(
    client: httpx.AsyncClient, auth: dict[str, str], workspace: NewWorkspace, db: Sessions
) -> None:
    traits = {"name": "Acme", "website": "https://www.Acme.io/about", "plan": "enterprise", "employees": 120}
    await post(client, "/v1/group", auth, {"userId": "u-1", "groupId": "acme-1", "traits": traits})
    [company] = await companies(db, ws(workspace))
    assert (company.external_id, company.name, company.domain) == ("acme-1", "Acme", "acme.io")
    assert company.attributes == {"website": "https://www.Acme.io/about", "plan": "enterprise", "employees": 120}
    [contact] = await contacts(db, ws(workspace))
    assert (contact.external_id, contact.company_id) == ("u-1", company.id)

    # another user of the same group; the traits merge (null removes) and `domain` beats `website`
    more = {"domain": "ACME.com", "plan": "scale", "employees": None}
    await post(client, "/v1/group", auth, {"anonymousId": "a-2", "groupId": "acme-1", "traits": more})
    [company] = await companies(db, ws(workspace))
    assert (company.name, company.domain) == ("Acme", "acme.com")
    assert company.attributes == {"website": "https://www.Acme.io/about", "plan": "scale"}
    assert {c.company_id for c in await contacts(db, ws(workspace))} == {company.id}

    # a group without a name names a new company after its groupId; the user moves to it
    await post(client, "/v1/group", auth, {"userId": "u-1", "groupId": 42})
    numbered, acme = await companies(db, ws(workspace))  # by external id
    assert (numbered.external_id, numbered.name, numbered.attributes) == ("42", "42", {})
    assert (acme.external_id, acme.name) == ("acme-1", "Acme")
    by_user = {c.external_id: c.company_id for c in await contacts(db, ws(workspace))}
    assert (by_user["u-1"], by_user[None]) == (numbered.id, acme.id)


async def test_a_bad_group_message_in_a_batch_is_set_aside_alone(
    client: httpx.AsyncClient, auth: dict[str, str], admin_headers: dict[str, str], workspace: NewWorkspace,
    db: Sessions,
) -> None:  # fmt: skip
    batch = [
        {"type": "group", "userId": "u-1", "groupId": "g-ok", "traits": {"name": "Fine Ltd", "domain": "fine.io"}},
        {"type": "group", "userId": "u-2", "groupId": "g-bad", "traits": {"name": 5}},
        {"type": "group", "userId": "u-3", "groupId": "g-bad2", "traits": {"domain": "not a domain!"}},
        {"type": "identify", "userId": "u-4", "traits": {"email": "d@example.com"}},
    ]
    answer = await client.post("/v1/batch", headers=auth, json={"batch": batch})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"success": True, "rejected": 2}
    [company] = await companies(db, ws(workspace))
    assert (company.external_id, company.name, company.domain) == ("g-ok", "Fine Ltd", "fine.io")
    assert sorted(str(c.external_id) for c in await contacts(db, ws(workspace))) == ["u-1", "u-4"]
    rejections = await client.get("/v1/ingest/rejections", headers=admin_headers)
    assert rejections.status_code == 200, rejections.text
    reasons = sorted(r["reason"] for r in rejections.json()["data"])
    assert reasons[0].startswith("batch[1]: traits.name")
    assert reasons[1].startswith("batch[2]: traits.domain")

    alone = await client.post("/v1/group", headers=auth, json={"userId": "u-5", "groupId": "g", "traits": {"name": ""}})
    assert alone.status_code == 400
    assert alone.json()["error"]["code"] == "invalid_message"


async def test_a_taken_domain_is_not_stolen_and_a_retried_group_changes_nothing(
    client: httpx.AsyncClient, auth: dict[str, str], admin_headers: dict[str, str], workspace: NewWorkspace,
    db: Sessions,
) -> None:  # fmt: skip
    made = await client.post("/v1/companies", headers=admin_headers, json={"name": "Owner", "domain": "owned.io"})
    assert made.status_code == 201, made.text
    first = {"userId": "u-1", "groupId": "g-1", "messageId": "m-1", "traits": {"name": "Old", "domain": "owned.io"}}
    await post(client, "/v1/group", auth, first)
    await post(client, "/v1/group", auth, {"userId": "u-1", "groupId": "g-1", "traits": {"name": "New"}})
    await post(client, "/v1/group", auth, first)  # a late retry of the first message
    grouped = next(c for c in await companies(db, ws(workspace)) if c.external_id == "g-1")
    assert (grouped.name, grouped.domain) == ("New", None)


async def test_group_changes_are_announced_to_segments_reading_companies(
    client: httpx.AsyncClient, auth: dict[str, str], admin_headers: dict[str, str], workspace: NewWorkspace,
    db: Sessions,
) -> None:  # fmt: skip
    segment = {"name": "big", "filter": {"company": {"field": "attributes.employees", "op": "gte", "value": 100}}}
    assert (await client.post("/v1/segments", headers=admin_headers, json=segment)).status_code == 201
    await post(client, "/v1/group", auth, {"userId": "u-1", "groupId": "g-1", "traits": {"employees": 5}})
    await post(client, "/v1/group", auth, {"userId": "u-2", "groupId": "g-1", "traits": {"employees": 500}})
    [company] = await companies(db, ws(workspace))
    rows = [(r.kind, r.name) for r in await outbox(db, ws(workspace))]
    # each contact's creation, then the company's change (its earlier contact's segments follow)
    assert rows.count((OutboxKind.CONTACT, "created")) == 2
    assert (OutboxKind.COMPANY, company.id) in rows
