"""The fallback chain end to end: providers configured through the API (SendGrid, served by its fake, then an
SMTP server), journeys entered through the ingestion API on the real dev server with a real worker.
A SendGrid that keeps answering 503 hands the message to the SMTP provider, once; a SendGrid that refuses the
recipient stops there: the message is marked failed with SendGrid's reason and nothing else is tried."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from mauntic.settings import Settings
from store.db import create_async_db_engine, session_factory
from store.models import MessageLog
from store.workspaces import NewWorkspace
from tests.api.ingest_support import basic
from tests.conftest import make_settings
from tests.e2e.test_journey_e2e import wait_state
from tests.fakes.base import Scripted
from tests.fakes.sendgrid import FakeSendGrid, sendgrid_error
from tests.servers import SmtpSink, free_port

pytestmark = pytest.mark.e2e

API_KEY = "SG.fallback-e2e"
JOURNEY = {
    "trigger": {"event": "Signed Up"},
    "start": "welcome",
    "steps": [{"id": "welcome", "type": "send_email", "subject": "Welcome!", "text": "Hi.", "next": "done"},
              {"id": "done", "type": "end"}],
}  # fmt: skip


@pytest.fixture
async def sendgrid() -> AsyncIterator[FakeSendGrid]:
    fake = FakeSendGrid(api_key=API_KEY, verified_senders={"example.test"})
    async with fake.serve():
        yield fake


@pytest.fixture
def stack_settings(database_url: str) -> Settings:
    # No relay: only the workspace's own providers can send.
    return make_settings(database_url, smtp_port=free_port(), email_from="Team <team@example.test>")


async def message_logs(database_url: str, contact_id: str) -> list[MessageLog]:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            query = select(MessageLog).where(col(MessageLog.contact_id) == contact_id)
            return list((await session.execute(query)).scalars())
    finally:
        await engine.dispose()


async def enter(api: httpx.AsyncClient, write_key: str, user_id: str, email: str) -> str:
    batch = {"batch": [
        {"type": "identify", "userId": user_id, "traits": {"email": email}},
        {"type": "track", "userId": user_id, "event": "Signed Up", "properties": {}},
    ]}  # fmt: skip
    assert (await api.post("/v1/batch", json=batch, headers=basic(write_key))).status_code == 200
    contact_id: str = (await api.get("/v1/contacts/lookup", params={"external_id": user_id})).json()["id"]
    return contact_id


async def test_fallback_on_outage_and_none_on_a_refused_recipient(
    base_url: str, workspace: NewWorkspace, sendgrid: FakeSendGrid, smtp: SmtpSink, database_url: str
) -> None:
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        primary = await api.post("/v1/providers", json={
            "name": "sendgrid", "type": "sendgrid", "channel": "email", "priority": 1,
            "config": {"api_key": API_KEY, "base_url": sendgrid.base_url}})  # fmt: skip
        secondary = await api.post("/v1/providers", json={
            "name": "relay", "type": "smtp", "channel": "email", "priority": 2,
            "config": {"host": smtp.host, "port": smtp.port, "security": "none"}})  # fmt: skip
        assert primary.status_code == secondary.status_code == 201, primary.text + secondary.text
        chain = (await api.get("/v1/channels/email/chain")).json()["providers"]
        assert [p["name"] for p in chain] == ["sendgrid", "relay"]
        journey_id = (await api.post("/v1/journeys", json={"name": "Welcome", "definition": JOURNEY})).json()["id"]
        assert (await api.post(f"/v1/journeys/{journey_id}/publish")).status_code == 200

        # SendGrid is down: the call answers 503 (the send never asks it twice: the relay takes the message).
        sendgrid.script(Scripted(503, {"errors": [{"message": "service unavailable"}]}))
        outage = await enter(api, workspace.write_key, "u-outage", "ada@example.test")
        await wait_state(api, journey_id, outage, status="completed")
        [welcome] = await smtp.wait_for(1)
        assert welcome["To"] == "ada@example.test"
        [sent] = await message_logs(database_url, outage)
        assert (sent.status, sent.provider) == ("sent", secondary.json()["id"])
        assert sendgrid.accepted == []
        assert len(sendgrid.received) == 1

        # SendGrid is back but refuses this recipient: permanent, no fallback.
        sendgrid.script(sendgrid_error(400, "Does not contain a valid address.", "personalizations.0.to.0.email"))
        refused = await enter(api, workspace.write_key, "u-refused", "bob@example.test")
        state = await wait_state(api, journey_id, refused, status="failed")
        assert [s["outcome"] for s in state["history"]] == ["failed"]
        [failed] = await message_logs(database_url, refused)
        assert (failed.status, failed.provider) == ("failed", primary.json()["id"])
        assert failed.error is not None
        assert "Does not contain a valid address" in failed.error

    await asyncio.sleep(0.2)  # nothing more may arrive
    assert len(smtp.messages) == 1
