"""A journey waiting for `opened` is resumed by a signed SendGrid Event Webhook: real Temporal dev server, a real
worker, the API under uvicorn, the database and an SMTP server on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col
from temporalio.client import Client

from api.app import create_app
from domain.delivery.providers import ProviderType
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.db import create_async_db_engine, session_factory
from store.models import DeliveryEvent, MessageLog
from store.workspaces import NewWorkspace
from tests.api.ingest_support import basic
from tests.conftest import make_settings
from tests.e2e.test_journey_e2e import wait_state
from tests.servers import SmtpSink, serve_api, smtp_sink
from tests.webhooks.rows import create_provider
from tests.webhooks.signing import sendgrid_headers, sendgrid_public_key
from worker import running_worker

pytestmark = pytest.mark.e2e

JOURNEY = {
    "trigger": {"event": "Signed Up"},
    "start": "welcome",
    "steps": [
        {"id": "welcome", "type": "send_email", "subject": "Welcome!", "text": "Hi.", "next": "await_open"},
        {"id": "await_open", "type": "wait_for_event", "event": "opened", "timeout": "P3D", "on_event": "thanks",
         "on_timeout": "nudge"},
        {"id": "thanks", "type": "send_email", "subject": "Glad you read it", "text": "Thanks.", "next": "done"},
        {"id": "nudge", "type": "send_email", "subject": "Did you see this?", "text": "Look."},
        {"id": "done", "type": "end"},
    ],
}  # fmt: skip


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpSink]:
    async with smtp_sink() as sink:
        yield sink


@pytest.fixture
def stack_settings(database_url: str, smtp: SmtpSink) -> Settings:
    return make_settings(database_url, smtp_host=smtp.host, smtp_port=smtp.port, email_from="Team <team@example.test>")


@pytest.fixture
async def base_url(stack_settings: Settings, temporal_client: Client) -> AsyncIterator[str]:
    app = create_app(stack_settings, TemporalGateway(stack_settings, temporal_client))
    async with running_worker(stack_settings, temporal_client), serve_api(app) as url:
        yield url


async def message_log(database_url: str, contact_id: str) -> MessageLog:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            query = select(MessageLog).where(col(MessageLog.contact_id) == contact_id, col(MessageLog.status) == "sent")
            return (await session.execute(query)).scalars().one()
    finally:
        await engine.dispose()


async def test_a_signed_open_event_resumes_the_journey(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink, database_url: str
) -> None:
    engine = create_async_db_engine(database_url)
    try:
        sessions = session_factory(engine)
        provider_id = await create_provider(sessions, workspace.workspace.id, ProviderType.SENDGRID,
                                            webhook_verification_key=sendgrid_public_key())  # fmt: skip
    finally:
        await engine.dispose()
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers) as api:
        created = await api.post("/v1/journeys", json={"name": "Open follow-up", "definition": JOURNEY})
        assert created.status_code == 201, created.text
        journey_id = created.json()["id"]
        assert (await api.post(f"/v1/journeys/{journey_id}/publish")).status_code == 200
        batch = {"batch": [
            {"type": "identify", "userId": "u-open", "traits": {"email": "reader@example.test"}},
            {"type": "track", "userId": "u-open", "event": "Signed Up", "properties": {}},
        ]}  # fmt: skip
        ingested = await api.post("/v1/batch", json=batch, headers=basic(workspace.write_key))
        assert ingested.status_code == 200, ingested.text
        [welcome] = await smtp.wait_for(1)
        assert welcome["Subject"] == "Welcome!"
        contact = (await api.get("/v1/contacts/lookup", params={"external_id": "u-open"})).json()
        await wait_state(api, journey_id, contact["id"], waiting_for_event="opened")

        sent = await message_log(database_url, contact["id"])
        events = [
            {"email": "reader@example.test", "event": "delivered", "sg_event_id": "e2e-delivered",
             "sg_message_id": "sg-e2e.filter1", "timestamp": int(time.time()), "message_log_id": sent.id},
            {"email": "reader@example.test", "event": "open", "sg_event_id": "e2e-open",
             "sg_message_id": "sg-e2e.filter1", "timestamp": int(time.time()), "message_log_id": sent.id},
        ]  # fmt: skip
        body = json.dumps(events).encode()
        forged = await api.post(f"/v1/webhooks/{provider_id}", content=body.replace(b"open", b"click"),
                                headers=sendgrid_headers(body, int(time.time())))  # fmt: skip
        assert forged.status_code == 401
        response = await api.post(f"/v1/webhooks/{provider_id}", content=body,
                                  headers=sendgrid_headers(body, int(time.time())))  # fmt: skip
        assert response.json() == {"events": 2, "new": 2, "duplicates": 0}, response.text

        messages = await smtp.wait_for(2)
        assert [m["Subject"] for m in messages] == ["Welcome!", "Glad you read it"]
        final = await wait_state(api, journey_id, contact["id"], status="completed")
        assert [s["step_id"] for s in final["history"]] == ["welcome", "await_open", "thanks", "done"]

    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            query = select(DeliveryEvent).where(col(DeliveryEvent.provider_id) == provider_id)
            stored = (await session.execute(query)).scalars().all()
    finally:
        await engine.dispose()
    assert {(e.type, e.message_log_id, e.contact_id) for e in stored} == {
        ("delivered", sent.id, contact["id"]),
        ("opened", sent.id, contact["id"]),
    }
