"""The official, unmodified Segment Python library (segment-analytics-python) against a real uvicorn server.

The library is synchronous (requests), so its calls run in a worker thread while the server runs on the test's
event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn
from segment.analytics import Client
from sqlalchemy import select
from temporalio.client import Client as TemporalClient

from api.app import create_app
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.db import create_async_db_engine, session_factory
from store.models import Contact, ContactIdentity, Event
from store.models_companies import Company
from store.workspaces import NewWorkspace


@pytest.fixture
async def base_url(settings: Settings, temporal_client: TemporalClient) -> AsyncIterator[str]:
    app = create_app(settings, TemporalGateway(settings, temporal_client))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class Errors:
    """The library's on_error callback: (exception, batch)."""

    def __init__(self) -> None:
        self.seen: list[tuple[Exception, list[dict[str, Any]]]] = []

    def __call__(self, error: Exception, batch: list[dict[str, Any]]) -> None:
        self.seen.append((error, batch))


async def stored(database_url: str, workspace_id: str) -> tuple[list[Event], list[Contact], list[ContactIdentity]]:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            events = await session.execute(select(Event).where(Event.workspace_id == workspace_id))  # type: ignore[arg-type]
            contacts = await session.execute(select(Contact).where(Contact.workspace_id == workspace_id))  # type: ignore[arg-type]
            identities = await session.execute(
                select(ContactIdentity).where(ContactIdentity.workspace_id == workspace_id)  # type: ignore[arg-type]
            )
            return list(events.scalars()), list(contacts.scalars()), list(identities.scalars())
    finally:
        await engine.dispose()


async def companies_of(database_url: str, workspace_id: str) -> list[Company]:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            result = await session.execute(select(Company).where(Company.workspace_id == workspace_id))  # type: ignore[arg-type]
            return list(result.scalars())
    finally:
        await engine.dispose()


async def test_every_call_of_the_official_client_in_sync_mode(
    base_url: str, workspace: NewWorkspace, database_url: str
) -> None:
    errors = Errors()
    client = Client(workspace.write_key, host=base_url, sync_mode=True, on_error=errors, max_retries=0)
    happened = datetime(2024, 2, 29, 8, 30, tzinfo=UTC)

    def calls() -> None:
        client.identify("user-1", {"email": "ada@example.com", "firstName": "Ada", "plan": "pro"}, anonymous_id="a-1")
        client.track("user-1", "Order Completed", {"revenue": 19.99, "items": ["book"]}, timestamp=happened)
        client.page("user-1", category="Docs", name="Getting Started", properties={"path": "/docs"})
        client.screen("user-1", name="Settings")
        client.group("user-1", "org-9", {"name": "Analytical Engines Ltd", "employees": 3})
        client.alias("a-legacy-id", "user-1")

    await asyncio.to_thread(calls)
    assert errors.seen == []

    events, contacts, identities = await stored(database_url, workspace.workspace.id)
    by_type = {e.type: e for e in events}
    assert set(by_type) == {"identify", "track", "page", "screen", "group", "alias"}
    [contact] = contacts
    assert (contact.external_id, contact.email, contact.first_name) == ("user-1", "ada@example.com", "Ada")
    assert contact.attributes == {"plan": "pro"}
    assert {e.contact_id for e in events} == {contact.id}
    assert by_type["identify"].properties == {"email": "ada@example.com", "firstName": "Ada", "plan": "pro"}
    assert (by_type["track"].name, by_type["track"].properties) == (
        "Order Completed",
        {"revenue": 19.99, "items": ["book"]},
    )
    assert abs(by_type["track"].timestamp - happened) < timedelta(seconds=5)  # skew-corrected, still ~ then
    assert (by_type["page"].name, by_type["page"].properties) == ("Getting Started", {"path": "/docs"})
    assert by_type["screen"].name == "Settings"
    assert (by_type["group"].name, by_type["group"].properties["employees"]) == ("org-9", 3)
    [company] = await companies_of(database_url, workspace.workspace.id)  # the group call made the company
    assert (company.external_id, company.name, company.attributes) == (
        "org-9",
        "Analytical Engines Ltd",
        {"employees": 3},
    )
    assert contact.company_id == company.id
    assert (by_type["alias"].name, by_type["alias"].user_id) == ("a-legacy-id", "user-1")
    assert by_type["track"].context["library"]["name"] == "analytics-python"
    assert all(len(e.message_id) == 36 for e in events)  # the library's uuid4 message ids
    assert {(i.kind, i.value) for i in identities} >= {
        ("user", "user-1"),
        ("anonymous", "a-1"),
        ("user", "a-legacy-id"),
    }


async def test_queued_gzip_batches_with_flush(base_url: str, workspace: NewWorkspace, database_url: str) -> None:
    errors = Errors()
    client = Client(workspace.write_key, host=base_url, gzip=True, on_error=errors, upload_size=25, max_retries=1)

    def calls() -> None:
        for n in range(60):
            client.track(f"user-{n % 6}", "Song Played", {"n": n, "title": "Caf\u00e9 \U0001f3b5"})
        client.identify(anonymous_id="visitor-1", traits={"favorite": "jazz"})
        client.flush()
        client.join()

    await asyncio.to_thread(calls)
    assert errors.seen == []
    events, contacts, _ = await stored(database_url, workspace.workspace.id)
    assert len(events) == 61
    assert sorted(e.properties["n"] for e in events if e.type == "track") == list(range(60))
    assert {e.properties["title"] for e in events if e.type == "track"} == {"Caf\u00e9 \U0001f3b5"}
    assert len(contacts) == 7


async def test_the_client_reports_a_bad_write_key(base_url: str) -> None:
    errors = Errors()
    client = Client("wk_wrong", host=base_url, on_error=errors, max_retries=0)

    def calls() -> None:
        client.track("user-1", "Nope")
        client.flush()
        client.join()

    await asyncio.to_thread(calls)
    [(error, batch)] = errors.seen
    assert getattr(error, "status", None) == 401
    assert batch[0]["event"] == "Nope"
