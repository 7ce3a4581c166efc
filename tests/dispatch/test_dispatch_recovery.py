"""Ingestion through the API, journeys entered by the dispatcher on the real Temporal dev server, emails to an
SMTP server on loopback: a Temporal outage during ingestion, and a dispatcher killed mid-drain, lose nothing and
send nothing twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from temporalio.client import Client

from api.app import create_app
from dispatch.runner import build_dispatcher, running_dispatcher
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.db import create_async_db_engine, session_factory
from store.models import DispatchOutbox
from store.workspaces import NewWorkspace
from tests.api.ingest_support import basic
from tests.conftest import TEST_SECRET_KEY, make_settings
from tests.outbox_rows import discard_outbox
from tests.servers import SmtpSink
from worker import running_worker

pytestmark = pytest.mark.e2e

WELCOME = {
    "trigger": {"event": "Signed Up"},
    "start": "welcome",
    "steps": [{"id": "welcome", "type": "send_email", "subject": "Welcome", "text": "Hello.", "next": "done"},
              {"id": "done", "type": "end"}],
}  # fmt: skip


@pytest.fixture
async def stack(database_url: str, smtp: SmtpSink, temporal_client: Client) -> AsyncIterator[tuple[Settings, FastAPI]]:
    """The API app and a worker without a dispatcher: each test runs the dispatcher its own way."""
    await discard_outbox(database_url)
    settings = make_settings(
        database_url, smtp_host=smtp.host, smtp_port=smtp.port, email_from="t@example.test", dispatcher=False
    )
    app = create_app(settings, TemporalGateway(settings, temporal_client))
    async with app.router.lifespan_context(app), running_worker(settings, temporal_client):
        yield settings, app


async def publish_and_ingest(
    app: FastAPI, workspace: NewWorkspace, contacts: int, *, ids: str = "su", journey: bool = True
) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as api:
        if journey:
            admin = {"Authorization": f"Bearer {workspace.api_key}"}
            created = await api.post("/v1/journeys", headers=admin, json={"name": "Welcome", "definition": WELCOME})
            assert (await api.post(f"/v1/journeys/{created.json()['id']}/publish", headers=admin)).status_code == 200
        for start in range(0, contacts, 100):
            batch: list[dict[str, Any]] = []
            for n in range(start, min(start + 100, contacts)):
                batch.append({"type": "identify", "userId": f"u{n}", "traits": {"email": f"u{n}@example.test"}})
                batch.append({"type": "track", "userId": f"u{n}", "event": "Signed Up", "messageId": f"{ids}-{n}"})
            response = await api.post("/v1/batch", headers=basic(workspace.write_key), json={"batch": batch})
            assert response.status_code == 200, response.text


async def pending(database_url: str) -> int:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return int((await session.execute(select(func.count()).select_from(DispatchOutbox))).scalar_one())
    finally:
        await engine.dispose()


async def settled(smtp: SmtpSink, database_url: str, contacts: int) -> Counter[str]:
    """Once every contact's email arrived and the outbox is empty, with a moment for any duplicate to show."""
    await smtp.wait_for(contacts, timeout=120)
    async with asyncio.timeout(30):
        while await pending(database_url):
            await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    return Counter(to for _, recipients in smtp.envelopes for to in recipients)


class OutageGateway(TemporalGateway):
    """Temporal as the dispatcher sees it: unreachable until `restore()`."""

    def __init__(self, settings: Settings, client: Client) -> None:
        super().__init__(settings, client)
        self.down = True
        self.refused = 0

    async def client(self) -> Client:
        if self.down:
            self.refused += 1
            raise RuntimeError("Failed client connect: connection refused")
        return await super().client()


async def test_a_temporal_outage_delays_journeys_and_loses_or_repeats_nothing(
    stack: tuple[Settings, FastAPI], workspace: NewWorkspace, smtp: SmtpSink, temporal_client: Client
) -> None:
    settings, app = stack
    gateway = OutageGateway(settings, temporal_client)
    sessions = app.state.context.sessions
    dispatcher = build_dispatcher(settings, sessions, gateway, eager_start=True)
    async with running_dispatcher(dispatcher):
        await publish_and_ingest(app, workspace, 60)  # accepted while Temporal is "down"
        async with asyncio.timeout(30):
            while gateway.refused < 3:  # the dispatcher tried, backed off, tried again
                await asyncio.sleep(0.05)
        assert await pending(settings.resolved_database_url) == 60
        assert smtp.messages == []
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as api:
            health = (await api.get("/health")).json()
        assert health["dispatch"]["pending"] == 60
        gateway.down = False
        sent = await settled(smtp, settings.resolved_database_url, 60)
    assert sorted(sent) == sorted(f"u{n}@example.test" for n in range(60))
    assert set(sent.values()) == {1}


async def test_a_dispatcher_killed_mid_drain_loses_nothing(
    stack: tuple[Settings, FastAPI],
    workspace: NewWorkspace,
    smtp: SmtpSink,
    temporal_client: Client,
    temporal_env: Any,
) -> None:
    """`mauntic dispatcher` in its own process, SIGKILLed while it drains; another dispatcher finishes the work."""
    settings, app = stack
    contacts = 300
    await publish_and_ingest(app, workspace, contacts)
    env = {
        **os.environ,
        "MAUNTIC_DATABASE_URL": settings.resolved_database_url,
        "MAUNTIC_TEMPORAL_ADDRESS": temporal_client.service_client.config.target_host,
        "MAUNTIC_TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
        "MAUNTIC_SECRET_KEY": TEST_SECRET_KEY,
        "MAUNTIC_DISPATCH_BATCH_SIZE": "5",  # small batches, one call at a time: the kill lands mid-drain
        "MAUNTIC_DISPATCH_CONCURRENCY": "1",
    }
    child = subprocess.Popen([sys.executable, "-m", "mauntic", "dispatcher"], env=env)
    try:
        async with asyncio.timeout(60):
            while (left := await pending(settings.resolved_database_url)) > contacts - 40:
                await asyncio.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert 0 < left < contacts  # killed with work done and work left
    dispatcher = build_dispatcher(settings, app.state.context.sessions, TemporalGateway(settings, temporal_client),
                                  eager_start=True)  # fmt: skip
    async with running_dispatcher(dispatcher):
        sent = await settled(smtp, settings.resolved_database_url, contacts)
    assert len(sent) == contacts
    assert set(sent.values()) == {1}


async def test_two_dispatchers_enter_each_contact_once(
    stack: tuple[Settings, FastAPI], workspace: NewWorkspace, smtp: SmtpSink, temporal_client: Client
) -> None:
    """Two dispatchers on one outbox, every contact triggered twice (a client that sent its event twice under two
    message ids): one journey, one email each. On PostgreSQL both drain; on SQLite one owns, one stands by."""
    settings, app = stack
    contacts = 120
    await publish_and_ingest(app, workspace, contacts)
    await publish_and_ingest(app, workspace, contacts, ids="again", journey=False)
    sessions = app.state.context.sessions
    gateway = TemporalGateway(settings, temporal_client)
    first = build_dispatcher(settings, sessions, gateway, eager_start=True)
    second = build_dispatcher(settings, sessions, gateway, eager_start=False)
    async with running_dispatcher(first), running_dispatcher(second):
        sent = await settled(smtp, settings.resolved_database_url, contacts)
    assert len(sent) == contacts
    assert set(sent.values()) == {1}


async def test_the_dispatcher_inside_the_worker_starts_journeys_eagerly(
    stack: tuple[Settings, FastAPI], workspace: NewWorkspace, smtp: SmtpSink, temporal_client: Client
) -> None:
    settings, app = stack
    await publish_and_ingest(app, workspace, 10)
    dispatcher = build_dispatcher(settings, app.state.context.sessions, TemporalGateway(settings, temporal_client),
                                  eager_start=True)  # fmt: skip
    result = await dispatcher.drain_once()  # the stack's worker shares temporal_client
    assert result.report.entered == 10
    assert result.report.eager > 0
    await settled(smtp, settings.resolved_database_url, 10)
