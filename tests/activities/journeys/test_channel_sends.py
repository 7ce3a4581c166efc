"""The journey send activity on the SMS and push channels, against the Twilio fake served on loopback and the real
database: the same message-log claim as email (sent once, `already_sent` on a retry), the contact's phone as the
recipient, and a skip naming what the contact lacks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.journeys.contracts import SendJourneyMessageInput
from activities.journeys.versions import JourneyVersions
from domain.delivery.providers import TwilioProviderConfig
from domain.ids import new_id
from store.db import create_async_db_engine, session_factory
from store.models import Contact, Journey, JourneyVersion
from store.workspaces import NewWorkspace
from tests.activities.test_journey_email import add_provider, logs
from tests.conftest import make_settings
from tests.fakes.twilio import FakeTwilio
from tests.servers import free_port, serve_api
from worker import journey_email_activities

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "auth-token-1234"
FROM = "+15005550006"
DEFINITION: dict[str, Any] = {
    "trigger": {"event": "Cart Abandoned"},
    "start": "remind",
    "steps": [
        {"id": "remind", "type": "send_sms", "body": "Hi {{ contact.first_name }}, your {{ contact.plan }} cart",
         "next": "ping"},
        {"id": "ping", "type": "send_push", "title": "Still there, {{ contact.first_name }}?"},
    ],
}  # fmt: skip


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_db_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def twilio() -> AsyncIterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio(account_sid=SID, auth_token=TOKEN, numbers={FROM})
    async with serve_api(fake.app()) as base_url:
        yield fake, base_url


async def seed(sessions: async_sessionmaker[AsyncSession], workspace_id: str, **contact: Any) -> tuple[str, str]:
    async with sessions() as session:
        journey = Journey(id=new_id("jr"), workspace_id=workspace_id, name="cart", definition=DEFINITION)
        person = Contact(id=new_id("ct"), workspace_id=workspace_id, first_name="Ada", **contact)
        session.add_all([journey, person])
        await session.flush()
        session.add(JourneyVersion(workspace_id=workspace_id, journey_id=journey.id, version=1,
                                   definition=DEFINITION, trigger_event="Cart Abandoned"))  # fmt: skip
        await session.commit()
    return journey.id, person.id


def request(workspace_id: str, journey_id: str, contact_id: str, step_id: str) -> SendJourneyMessageInput:
    return SendJourneyMessageInput(
        workspace_id=workspace_id, journey_id=journey_id, version=1, step_id=step_id, contact_id=contact_id,
        idempotency_key=f"journey:{workspace_id}:{journey_id}:{contact_id}:{step_id}",
    )  # fmt: skip


async def test_an_sms_step_is_rendered_and_sent_once_through_the_sms_chain(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    workspace: NewWorkspace,
    twilio: tuple[FakeTwilio, str],
) -> None:
    fake, base_url = twilio
    ws = workspace.workspace.id
    config = TwilioProviderConfig(account_sid=SID, auth_token=TOKEN, from_number=FROM, base_url=base_url)
    await add_provider(sessions, ws, "twilio", 10, config)
    journey_id, contact_id = await seed(sessions, ws, phone="+14155550100", attributes={"plan": "pro"})
    async with httpx.AsyncClient(timeout=5.0) as http:
        activities = journey_email_activities(make_settings(database_url, smtp_port=free_port()), sessions,
                                              JourneyVersions(), http)  # fmt: skip
        first = await activities.send_journey_email(request(ws, journey_id, contact_id, "remind"))
        again = await activities.send_journey_email(request(ws, journey_id, contact_id, "remind"))

    assert (first.status, again.status) == ("sent", "already_sent")
    assert first.provider_message_id == again.provider_message_id
    [sent] = fake.requests
    assert (sent.form["To"], sent.form["From"], sent.form["Body"]) == ("+14155550100", FROM, "Hi Ada, your pro cart")
    [log] = await logs(sessions, contact_id)
    assert (log.channel, log.to_address, log.status, log.step_id) == ("sms", "+14155550100", "sent", "remind")


async def test_a_contact_without_a_phone_or_push_token_is_skipped_and_logged(
    database_url: str, sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    journey_id, contact_id = await seed(sessions, ws, email="ada@example.test")
    async with httpx.AsyncClient(timeout=5.0) as http:
        activities = journey_email_activities(make_settings(database_url, smtp_port=free_port()), sessions,
                                              JourneyVersions(), http)  # fmt: skip
        sms = await activities.send_journey_email(request(ws, journey_id, contact_id, "remind"))
        push = await activities.send_journey_email(request(ws, journey_id, contact_id, "ping"))

    assert (sms.status, sms.reason) == ("skipped", "contact_has_no_phone")
    assert (push.status, push.reason) == ("skipped", "contact_has_no_push_token")
    channels = sorted((log.channel, log.status) for log in await logs(sessions, contact_id))
    assert channels == [("push", "skipped"), ("sms", "skipped")]
