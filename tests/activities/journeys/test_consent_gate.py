"""The consent gate in the journey send activity, on every channel (email, sms, push), on the real database: a send
without consent is skipped with the reason in the message log; a granted one goes; transactional steps are exempt;
a step's topic is checked beside its channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.journeys.contracts import SendJourneyMessageInput
from activities.journeys.email import JourneyEmailActivities
from activities.journeys.versions import JourneyVersions
from domain.consent.model import ConsentMode, ConsentSource, ConsentStatus
from domain.ids import new_id
from store.consent import ConsentSettings, put_consent_settings, record_consent
from store.models import Contact, Journey, JourneyVersion
from store.workspaces import NewWorkspace
from tests.activities.test_journey_email import logs
from tests.conftest import make_settings
from tests.servers import SmtpSink, smtp_sink
from worker import journey_email_activities

STEPS: list[dict[str, Any]] = [
    {"id": "mail", "type": "send_email", "subject": "Hi", "text": "Hello {{ preferences_url }}", "next": "news"},
    {"id": "news", "type": "send_email", "subject": "News", "text": "n", "topic": "news", "next": "receipt"},
    {"id": "receipt", "type": "send_email", "subject": "Receipt", "text": "r", "transactional": True, "next": "text"},
    {"id": "text", "type": "send_sms", "body": "Hi", "next": "ping"},
    {"id": "ping", "type": "send_push", "title": "Hi"},
]
DEFINITION = {"trigger": {"event": "x"}, "start": "mail", "steps": STEPS}


@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    async with smtp_sink() as server:
        yield server


@pytest.fixture
async def activities(
    database_url: str, sessions: async_sessionmaker[AsyncSession], sink: SmtpSink
) -> AsyncIterator[JourneyEmailActivities]:
    config = make_settings(database_url, smtp_port=sink.port, email_from="Team <team@example.test>")
    async with httpx.AsyncClient(timeout=5.0) as http:
        yield journey_email_activities(config, sessions, JourneyVersions(), http)


async def seed(sessions: async_sessionmaker[AsyncSession], workspace_id: str) -> tuple[str, str]:
    async with sessions() as session:
        journey = Journey(id=new_id("jr"), workspace_id=workspace_id, name="j", definition=DEFINITION)
        person = Contact(id=new_id("ct"), workspace_id=workspace_id, email="ada@example.test", phone="+14155550100",
                         attributes={"push_token": "fcm-token-1"})  # fmt: skip
        session.add_all([journey, person])
        await session.flush()
        session.add(JourneyVersion(workspace_id=workspace_id, journey_id=journey.id, version=1,
                                   definition=DEFINITION, trigger_event="x"))  # fmt: skip
        await session.commit()
    return journey.id, person.id


async def consent(
    sessions: async_sessionmaker[AsyncSession], ws: str, contact_id: str, channel: str, status: ConsentStatus,
    topic: str = "",
) -> None:  # fmt: skip
    async with sessions() as session:
        await record_consent(session, ws, contact_id, channel=channel, wanted=status, source=ConsentSource.API,
                             topic=topic)  # fmt: skip
        await session.commit()


def send(ws: str, journey_id: str, contact_id: str, step: str) -> SendJourneyMessageInput:
    key = f"{journey_id}:{contact_id}:{step}"
    return SendJourneyMessageInput(
        workspace_id=ws, journey_id=journey_id, version=1, step_id=step, contact_id=contact_id, idempotency_key=key
    )


async def test_withdrawn_consent_skips_every_channel_and_logs_the_reason(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace, activities: JourneyEmailActivities,
    sink: SmtpSink,
) -> None:  # fmt: skip
    ws = workspace.workspace.id
    journey_id, contact_id = await seed(sessions, ws)
    for channel in ("email", "sms", "push"):
        await consent(sessions, ws, contact_id, channel, ConsentStatus.WITHDRAWN)

    results = {step: await activities.send_journey_email(send(ws, journey_id, contact_id, step))
               for step in ("mail", "text", "ping")}  # fmt: skip

    assert {step: (r.status, r.reason) for step, r in results.items()} == {
        "mail": ("skipped", "no consent: email withdrawn"),
        "text": ("skipped", "no consent: sms withdrawn"),
        "ping": ("skipped", "no consent: push withdrawn"),
    }
    logged = sorted((log.channel, log.status, log.error) for log in await logs(sessions, contact_id))
    assert logged == [
        ("email", "skipped", "no consent: email withdrawn"),
        ("push", "skipped", "no consent: push withdrawn"),
        ("sms", "skipped", "no consent: sms withdrawn"),
    ]
    assert sink.messages == []


async def test_transactional_steps_are_exempt(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace, activities: JourneyEmailActivities,
    sink: SmtpSink,
) -> None:  # fmt: skip
    ws = workspace.workspace.id
    journey_id, contact_id = await seed(sessions, ws)
    await consent(sessions, ws, contact_id, "email", ConsentStatus.WITHDRAWN)

    result = await activities.send_journey_email(send(ws, journey_id, contact_id, "receipt"))

    assert result.status == "sent"
    [message] = await sink.wait_for(1)
    assert message["Subject"] == "Receipt"


async def test_opt_in_channels_need_a_grant_and_opt_out_ones_do_not(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace, activities: JourneyEmailActivities,
    sink: SmtpSink,
) -> None:  # fmt: skip
    ws = workspace.workspace.id
    journey_id, contact_id = await seed(sessions, ws)
    async with sessions() as session:
        await put_consent_settings(
            session, ws, ConsentSettings({"sms": ConsentMode.OPT_IN, "push": ConsentMode.OPT_IN})
        )
        await session.commit()

    text = await activities.send_journey_email(send(ws, journey_id, contact_id, "text"))
    ping = await activities.send_journey_email(send(ws, journey_id, contact_id, "ping"))
    mail = await activities.send_journey_email(send(ws, journey_id, contact_id, "mail"))

    assert (text.status, text.reason) == ("skipped", "no consent: sms not granted (opt-in channel)")
    assert (ping.status, ping.reason) == ("skipped", "no consent: push not granted (opt-in channel)")
    assert mail.status == "sent"  # email stays opt-out: nothing recorded means yes
    [message] = await sink.wait_for(1)
    part = message.get_body(("plain",)) if message.is_multipart() else message
    assert part is not None
    body = part.get_content()
    assert "/preferences/" in body  # {{ preferences_url }} rendered with the contact's signed link


async def test_a_step_topic_withdrawn_skips_only_that_topic(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace, activities: JourneyEmailActivities,
    sink: SmtpSink,
) -> None:  # fmt: skip
    ws = workspace.workspace.id
    journey_id, contact_id = await seed(sessions, ws)
    await consent(sessions, ws, contact_id, "email", ConsentStatus.WITHDRAWN, topic="news")

    news = await activities.send_journey_email(send(ws, journey_id, contact_id, "news"))
    mail = await activities.send_journey_email(send(ws, journey_id, contact_id, "mail"))

    assert (news.status, news.reason) == ("skipped", "no consent: topic news withdrawn")
    assert mail.status == "sent"
    assert [m["Subject"] for m in await sink.wait_for(1)] == ["Hi"]
