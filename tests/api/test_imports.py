"""CSV import through the API and a worker running the import workflow (SQLite and PostgreSQL): bad rows refused
and listed in the errors CSV while valid rows are imported, duplicates merged in file order, existing contacts
matched by the merge policy, conflicting unique identifiers refused, the mapping checked against the header."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid

import httpx
from sqlalchemy import select
from sqlmodel import col
from temporalio.client import Client
from temporalio.worker import Worker

from activities.imports.process import ImportActivities
from mauntic.settings import Settings
from store.db import create_async_db_engine, session_factory
from store.models import Contact
from store.workspaces import NewWorkspace
from workflows.contact_import import ContactImportWorkflow
from workflows.runner import workflow_runner

CSV = (
    "Email,First,Phone,Plan,CRM\n"
    "ann@example.com,Ann,+14155550123,pro,c1\n"
    "not-an-email,Bob,,free,c2\n"
    "carl@example.com,Carl,12,free,c3\n"
    "dora@example.com,Do\x00ra,,free,c4\n"
    "ann@example.com,Annie,,,\n"
    "old@example.com,Olga,,vip,c9\n"
    "x@example.com," + "y" * 300 + ",,,\n"
    "\n"
    ",,,,c5\n"
)
MAPPING = '{"Email":"email","First":"first_name","Phone":"phone","Plan":"attributes.plan","CRM":"ext:crm"}'


async def _contacts(database_url: str, ws: str) -> dict[str, Contact]:
    engine = create_async_db_engine(database_url)
    async with session_factory(engine)() as session:
        rows = (await session.execute(select(Contact).where(col(Contact.workspace_id) == ws))).scalars().all()
    await engine.dispose()
    return {c.email or c.id: c for c in rows}


async def _wait(client: httpx.AsyncClient, headers: dict[str, str], import_id: str) -> dict[str, object]:
    for _ in range(600):
        body: dict[str, object] = (await client.get(f"/v1/imports/{import_id}", headers=headers)).json()
        if body["status"] in ("completed", "failed"):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError("import did not finish")


async def test_import_through_the_api(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    temporal_client: Client,
    database_url: str,
    workspace: NewWorkspace,
    settings: Settings,
) -> None:
    ws = workspace.workspace.id
    made = await client.post(
        "/v1/contacts", json={"email": "old@example.com", "first_name": "O", "attributes": {"keep": 1}},
        headers=admin_headers,
    )  # fmt: skip
    assert made.status_code == 201
    old_id = made.json()["id"]
    queue = settings.temporal_task_queue
    worker = Worker(
        temporal_client,
        task_queue=queue,
        workflows=[ContactImportWorkflow],
        activities=ImportActivities(database_url).all(),
        workflow_runner=workflow_runner(),
    )
    async with worker:
        started = await client.post(
            "/v1/imports?filename=c.csv",
            content=CSV.encode(),
            headers={**admin_headers, "Content-Type": "text/csv", "Import-Mapping": MAPPING},
        )
        assert started.status_code == 202, started.text
        done = await _wait(client, admin_headers, started.json()["id"])
    assert done["status"] == "completed", done
    assert (done["rows_done"], done["imported"], done["updated"], done["failed"]) == (8, 1, 2, 5)
    errors = (await client.get(f"/v1/imports/{done['id']}/errors", headers=admin_headers)).text
    listed = list(csv.DictReader(io.StringIO(errors)))
    assert [(e["row"], e["column"]) for e in listed] == [
        ("2", "Email"), ("3", "Phone"), ("4", "First"), ("7", "First"), ("8", ""),
    ]  # fmt: skip
    assert "NUL" in listed[2]["reason"]
    contacts = await _contacts(database_url, ws)
    assert set(contacts) == {"ann@example.com", "old@example.com"}
    ann = contacts["ann@example.com"]
    assert (ann.first_name, ann.phone, ann.attributes) == ("Annie", "+14155550123", {"plan": "pro"})
    old = contacts["old@example.com"]
    assert (old.id, old.first_name) == (old_id, "Olga")
    assert old.attributes == {"keep": 1, "plan": "vip"}


async def test_mapping_is_checked_against_the_header(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    headers = {**admin_headers, "Content-Type": "text/csv"}
    missing = await client.post(
        "/v1/imports", content=b"Email\na@example.com\n", headers={**headers, "Import-Mapping": '{"Mail":"email"}'}
    )
    assert missing.status_code == 422
    assert missing.json()["error"]["details"]["column"] == "Mail"
    for mapping in ('{"Email":"nope"}', "[1]", "{", '{"First":"first_name"}'):
        answer = await client.post(
            "/v1/imports", content=b"Email,First\n", headers={**headers, "Import-Mapping": mapping}
        )
        assert answer.status_code == 422, mapping
        assert answer.json()["error"]["code"] == "invalid_mapping"
    unknown = await client.get(f"/v1/imports/im_{uuid.uuid4().hex}", headers=admin_headers)
    assert unknown.status_code == 404
