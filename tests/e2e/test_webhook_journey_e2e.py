"""A journey sends through SendGrid (configured through the API, served by the SendGrid fake) and waits for
`opened`; SendGrid's signed Event Webhook, naming the message by the id SendGrid gave it, resumes the journey.
Real Temporal dev server, a real worker, the API under uvicorn, the database; nothing but loopback."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from mauntic.settings import Settings
from store.db import create_async_db_engine, session_factory
from store.models import DeliveryEvent, MessageLog
from store.workspaces import NewWorkspace
from tests.api.ingest_support import basic
from tests.conftest import make_settings
from tests.e2e.test_journey_e2e import wait_state
from tests.fakes.sendgrid import FakeSendGrid
from tests.servers import free_port
from tests.webhooks.signing import sendgrid_headers, sendgrid_public_key

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


API_KEY = "SG.e2e-key"


@pytest.fixture
async def sendgrid() -> AsyncIterator[FakeSendGrid]:
    fake = FakeSendGrid(api_key=API_KEY, verified_senders={"example.test"})
    async with fake.serve():
        yield fake


@pytest.fixture
def stack_settings(database_url: str) -> Settings:
    # The relay points at a closed port: every email must go through the workspace's SendGrid provider.
    return make_settings(database_url, smtp_port=free_port(), email_from="Team <team@example.test>")


async def message_log(database_url: str, contact_id: str) -> MessageLog:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            query = select(MessageLog).where(col(MessageLog.contact_id) == contact_id, col(MessageLog.status) == "sent")
            return (await session.execute(query)).scalars().one()
    finally:
        await engine.dispose()


async def wait_accepted(sendgrid: FakeSendGrid, count: int) -> list[str]:
    for _ in range(600):
        if len(sendgrid.accepted) >= count:
            return [mail.body["subject"] for mail in sendgrid.accepted]
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} emails through SendGrid, got {len(sendgrid.accepted)}")


async def test_a_signed_open_event_resumes_the_journey(
    base_url: str, workspace: NewWorkspace, sendgrid: FakeSendGrid, database_url: str
) -> None:
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        config = {"api_key": API_KEY, "base_url": sendgrid.base_url, "webhook_verification_key": sendgrid_public_key()}
        provider = await api.post(
            "/v1/providers", json={"name": "sendgrid", "type": "sendgrid", "channel": "email", "config": config}
        )
        assert provider.status_code == 201, provider.text
        provider_id = provider.json()["id"]
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
        assert await wait_accepted(sendgrid, 1) == ["Welcome!"]
        contact = (await api.get("/v1/contacts/lookup", params={"external_id": "u-open"})).json()
        await wait_state(api, journey_id, contact["id"], waiting_for_event="opened")

        sent = await message_log(database_url, contact["id"])
        assert (sent.provider, sent.provider_message_id) == (provider_id, sendgrid.accepted[0].message_id)
        sg_message_id = f"{sent.provider_message_id}.filterdrecv-5645d9c87f-6r2ch-1-5EC5A0FB-2.0"
        events = [  # as SendGrid posts them: our message found by SendGrid's id, not by a custom argument
            {"email": "reader@example.test", "event": "delivered", "sg_event_id": "e2e-delivered",
             "sg_message_id": sg_message_id, "timestamp": int(time.time())},
            {"email": "reader@example.test", "event": "open", "sg_event_id": "e2e-open",
             "sg_message_id": sg_message_id, "timestamp": int(time.time())},
        ]  # fmt: skip
        body = json.dumps(events).encode()
        forged = await api.post(f"/v1/webhooks/{provider_id}", content=body.replace(b"open", b"click"),
                                headers=sendgrid_headers(body, int(time.time())))  # fmt: skip
        assert forged.status_code == 401
        response = await api.post(f"/v1/webhooks/{provider_id}", content=body,
                                  headers=sendgrid_headers(body, int(time.time())))  # fmt: skip
        assert response.json() == {"events": 2, "new": 2, "duplicates": 0}, response.text

        assert await wait_accepted(sendgrid, 2) == ["Welcome!", "Glad you read it"]
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
