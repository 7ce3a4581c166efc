"""Field-level controls per role on every read and write path: contact reads and writes, segment filters and
previews (a hidden field cannot be filtered on), the message log's recipient address and provider errors, and the
texts of tasks rendered from a contact's fields."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import update

from domain.ids import new_id
from store.db import create_async_db_engine, session_factory
from store.models import ApiKey, MessageLog
from store.models_imports import ContactImport, ContactImportError
from store.models_tasks import JourneyTask
from store.workspaces import NewWorkspace, create_api_key


async def _role_key(database_url: str, workspace: NewWorkspace, role: str) -> dict[str, str]:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            key, secret = await create_api_key(
                session, workspace.workspace.id, "r", ["contacts:read", "contacts:write"]
            )
            await session.execute(update(ApiKey).where(ApiKey.id == key.id).values(role=role))  # type: ignore[arg-type]
            await session.commit()
    finally:
        await engine.dispose()
    return {"Authorization": f"Bearer {secret}"}


async def test_reads_masked_hidden_and_writes_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace, database_url: str
) -> None:
    put = await client.put(
        "/v1/field-policies/marketer",
        headers=admin_headers,
        json={"fields": {"email": "masked", "phone": "hidden", "first_name": "read_only", "attributes.ssn": "hidden"}},
    )
    assert put.status_code == 200, put.text
    created = await client.post(
        "/v1/contacts", headers=admin_headers,
        json={"email": "jane@example.com", "phone": "+33612345678", "first_name": "Jane",
              "attributes": {"ssn": "123", "plan": "pro"}},
    )  # fmt: skip
    contact_id = created.json()["id"]
    marketer = await _role_key(database_url, workspace, "marketer")

    read = (await client.get(f"/v1/contacts/{contact_id}", headers=marketer)).json()
    assert read["email"] == "j***@example.com"
    assert "phone" not in read
    assert read["attributes"] == {"plan": "pro"}
    listed = (await client.get("/v1/contacts", headers=marketer)).json()["data"]
    assert listed[0]["email"] == "j***@example.com"
    assert "phone" not in listed[0]

    refused = await client.patch(f"/v1/contacts/{contact_id}", headers=marketer, json={"first_name": "X"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "field_read_only"
    assert (await client.get(f"/v1/contacts/{contact_id}", headers=admin_headers)).json()["first_name"] == "Jane"
    allowed = await client.patch(f"/v1/contacts/{contact_id}", headers=marketer, json={"last_name": "Doe"})
    assert allowed.status_code == 200, allowed.text

    bad = await client.put("/v1/field-policies/marketer", headers=admin_headers, json={"fields": {"pw": "hidden"}})
    assert bad.status_code == 422


async def _policy(client: httpx.AsyncClient, admin: dict[str, str], role: str, fields: dict[str, str]) -> None:
    put = await client.put(f"/v1/field-policies/{role}", headers=admin, json={"fields": fields})
    assert put.status_code == 200, put.text


async def _as(database_url: str, workspace: NewWorkspace, role: str) -> dict[str, str]:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            _, secret = await create_api_key(session, workspace.workspace.id, role, [], role=role)
            await session.commit()
    finally:
        await engine.dispose()
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize(
    ("segment_filter", "field"),
    [
        ({"field": "email", "op": "contains", "value": "@example.com"}, "email"),
        ({"and": [{"field": "first_name", "op": "exists"}, {"not": {"attribute": "ssn", "op": "eq", "value": "1"}}]},
         "attributes.ssn"),
        ({"or": [{"attribute": "secret.deep.path", "op": "exists"}]}, "attributes.secret"),
    ],
)  # fmt: skip
async def test_a_segment_filter_naming_a_hidden_field_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace, database_url: str,
    segment_filter: dict[str, Any], field: str,
) -> None:  # fmt: skip
    await _policy(client, admin_headers, "analyst", {"email": "hidden", "attributes.ssn": "hidden",
                                                     "attributes.secret": "hidden", "phone": "masked"})  # fmt: skip
    analyst = await _as(database_url, workspace, "analyst")

    for path, body in (
        ("/v1/segments/preview", {"filter": segment_filter}),
        ("/v1/segments", {"name": "Probe", "filter": segment_filter}),
    ):
        refused = await client.post(path, headers=analyst, json=body)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["error"]["code"] == "field_hidden"
        assert refused.json()["error"]["details"]["field"] == field
    assert (await client.get("/v1/segments", headers=admin_headers)).json() == []
    # the same filter is fine for a role that sees the field; a visible or masked field is fine for this one
    unrestricted = await client.post("/v1/segments/preview", headers=admin_headers, json={"filter": segment_filter})
    assert unrestricted.status_code == 200, unrestricted.text
    masked = {"field": "phone", "op": "exists"}
    assert (await client.post("/v1/segments/preview", headers=analyst, json={"filter": masked})).status_code == 200
    saved = await client.post("/v1/segments", headers=admin_headers, json={"name": "S", "filter": masked})
    changed = await client.patch(f"/v1/segments/{saved.json()['id']}", headers=analyst, json={"filter": segment_filter})
    assert changed.status_code == 403
    assert changed.json()["error"]["code"] == "field_hidden"


async def test_the_message_log_shows_the_address_under_the_field_policy(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace, database_url: str
) -> None:
    ws = workspace.workspace.id
    await _policy(client, admin_headers, "viewer", {"email": "masked", "phone": "hidden"})
    await _policy(client, admin_headers, "analyst", {"email": "hidden", "attributes.push_token": "masked"})
    engine = create_async_db_engine(database_url)
    rows = [
        ("email", "jane@example.com", "550 jane@example.com: no such mailbox"),
        ("sms", "+33612345678", "21610: +33612345678 replied STOP"),
        ("push", "device-token-abc", None),
    ]
    try:
        async with session_factory(engine)() as session:
            for channel, address, error in rows:
                session.add(MessageLog(id=new_id("msg"), workspace_id=ws, idempotency_key=new_id("key"),
                                       channel=channel, to_address=address, status="failed", error=error,
                                       contact_id="ct_1"))  # fmt: skip
            await session.commit()
    finally:
        await engine.dispose()

    async def seen(headers: dict[str, str]) -> dict[str, tuple[str | None, str | None]]:
        listed = await client.get("/v1/messages", headers=headers)
        assert listed.status_code == 200, listed.text
        shown = {m["channel"]: (m["to_address"], m["error"]) for m in listed.json()["data"]}
        for message in listed.json()["data"]:  # one message read alone shows the same
            read = (await client.get(f"/v1/messages/{message['id']}", headers=headers)).json()
            assert (read["to_address"], read["error"]) == shown[message["channel"]]
        return shown

    assert await seen(await _as(database_url, workspace, "viewer")) == {
        "email": ("j***@example.com", "550 j***@example.com: no such mailbox"),
        "sms": (None, "21610: [hidden] replied STOP"),
        "push": ("device-token-abc", None),
    }
    assert await seen(await _as(database_url, workspace, "analyst")) == {
        "email": (None, "550 [hidden]: no such mailbox"),
        "sms": ("+33612345678", "21610: +33612345678 replied STOP"),
        "push": ("d***", None),
    }
    assert (await seen(admin_headers))["email"] == ("jane@example.com", "550 jane@example.com: no such mailbox")


async def test_task_texts_rendered_from_the_contact_follow_the_field_policy(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace, database_url: str
) -> None:
    ws = workspace.workspace.id
    await _policy(client, admin_headers, "viewer", {"phone": "hidden", "email": "masked", "attributes.notes": "hidden"})
    created = await client.post(
        "/v1/contacts", headers=admin_headers,
        json={"email": "jane@example.com", "phone": "+33612345678", "first_name": "Jane",
              "attributes": {"notes": "VIP since 2019"}},
    )  # fmt: skip
    contact_id = created.json()["id"]
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            workflow_id = f"journey:{ws}:jr_x:{contact_id}"
            session.add(JourneyTask(
                id=new_id("tsk"), workspace_id=ws, journey_id="jr_x", version=1, contact_id=contact_id,
                step_id="call", workflow_id=workflow_id, idempotency_key=workflow_id + ":call", kind="call",
                title="Call Jane at +33612345678", instructions="Mail jane@example.com after. Notes: VIP since 2019",
                assignee="rep@example.com", outcomes=["done"],
            ))  # fmt: skip
            await session.commit()
    finally:
        await engine.dispose()
    viewer = await _as(database_url, workspace, "viewer")

    [task] = (await client.get("/v1/tasks", headers=viewer)).json()["data"]
    assert task["title"] == "Call Jane at [hidden]"
    assert task["instructions"] == "Mail j***@example.com after. Notes: [hidden]"
    assert (await client.get(f"/v1/tasks/{task['id']}", headers=viewer)).json()["title"] == "Call Jane at [hidden]"
    [unrestricted] = (await client.get("/v1/tasks", headers=admin_headers)).json()["data"]
    assert unrestricted["title"] == "Call Jane at +33612345678"


async def test_an_imports_error_csv_quotes_no_value_to_a_restricted_role(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace, database_url: str
) -> None:
    ws = workspace.workspace.id
    await _policy(client, admin_headers, "viewer", {"email": "hidden"})
    reason = "email 'jane@example.com' belongs to contact ct_1, which the policy's match groups do not match"
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            found = ContactImport(id=new_id("imp"), workspace_id=ws, status="completed")
            session.add(found)
            await session.flush()
            session.add(ContactImportError(import_id=found.id, row=2, column="email", reason=reason))
            await session.commit()
    finally:
        await engine.dispose()
    path = f"/v1/imports/{found.id}/errors"

    viewer = await client.get(path, headers=await _as(database_url, workspace, "viewer"))
    admin = await client.get(path, headers=admin_headers)

    assert viewer.status_code == 200, viewer.text
    assert "jane@example.com" not in viewer.text
    assert (
        viewer.text.splitlines()[1] == "2,email,\"email '[hidden]' belongs to contact ct_1, which the policy's "
        'match groups do not match"'
    )
    assert "jane@example.com" in admin.text
