from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from temporalio.exceptions import ApplicationError

from activities.delivery.smtp import SmtpConfig, SmtpSender
from activities.journeys.contracts import SendJourneyEmailInput
from activities.journeys.email import JourneyEmailActivities
from activities.journeys.versions import JourneyVersions
from domain.ids import new_id
from store.db import create_async_db_engine, session_factory
from store.models import Contact, Journey, JourneyVersion, MessageLog
from store.workspaces import NewWorkspace
from tests.servers import SmtpSink, free_port, smtp_sink

DEFINITION: dict[str, Any] = {
    "trigger": {"event": "Signed Up"},
    "start": "hello",
    "steps": [
        {
            "id": "hello",
            "type": "send_email",
            "subject": "Hi {{ contact.first_name }}",
            "html": "<b>{{ contact.nickname }}</b>",
            "text": "Plan: {{ contact.plan | default: 'free' }}",
        }
    ],
}


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_db_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    async with smtp_sink() as server:
        yield server


async def _seed(sessions: async_sessionmaker[AsyncSession], workspace_id: str, email: str | None) -> tuple[str, str]:
    async with sessions() as session:
        journey = Journey(id=new_id("jr"), workspace_id=workspace_id, name="j", definition=DEFINITION)
        contact = Contact(
            id=new_id("ct"),
            workspace_id=workspace_id,
            email=email,
            first_name="Ada",
            attributes={"nickname": "<script>", "first_name": "overridden?"},
        )
        session.add_all([journey, contact])
        await session.flush()
        session.add(
            JourneyVersion(
                workspace_id=workspace_id, journey_id=journey.id, version=1, definition=DEFINITION, trigger_event="x"
            )
        )
        await session.commit()
        return journey.id, contact.id


def _request(workspace_id: str, journey_id: str, contact_id: str) -> SendJourneyEmailInput:
    return SendJourneyEmailInput(
        workspace_id=workspace_id,
        journey_id=journey_id,
        version=1,
        step_id="hello",
        contact_id=contact_id,
        idempotency_key=f"journey:{workspace_id}:{journey_id}:{contact_id}:hello",
    )


async def _logs(sessions: async_sessionmaker[AsyncSession], contact_id: str) -> list[MessageLog]:
    async with sessions() as session:
        result = await session.execute(select(MessageLog).where(col(MessageLog.contact_id) == contact_id))
        return list(result.scalars())


async def test_renders_sends_once_and_logs(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace, sink: SmtpSink
) -> None:
    journey_id, contact_id = await _seed(sessions, workspace.workspace.id, "ada@example.test")
    activities = JourneyEmailActivities(
        sessions, JourneyVersions(), SmtpSender(SmtpConfig(sink.host, sink.port)), "Team <team@example.test>"
    )
    request = _request(workspace.workspace.id, journey_id, contact_id)
    first = await activities.send_journey_email(request)
    second = await activities.send_journey_email(request)
    assert (first.status, second.status) == ("sent", "already_sent")
    assert first.provider_message_id == second.provider_message_id
    [message] = await sink.wait_for(1)
    assert message["Subject"] == "Hi Ada"  # the column wins over a custom attribute of the same name
    assert message.get_body(("html",)).get_content().strip() == "<b>&lt;script&gt;</b>"  # type: ignore[union-attr]
    assert message.get_body(("plain",)).get_content().strip() == "Plan: free"  # type: ignore[union-attr]
    [log] = await _logs(sessions, contact_id)
    assert (log.status, log.to_address, log.provider, log.step_id) == ("sent", "ada@example.test", "smtp", "hello")
    assert log.provider_message_id == message["Message-ID"]
    assert len(sink.messages) == 1


async def test_contact_without_email_is_skipped_with_reason(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace, sink: SmtpSink
) -> None:
    journey_id, contact_id = await _seed(sessions, workspace.workspace.id, None)
    activities = JourneyEmailActivities(
        sessions, JourneyVersions(), SmtpSender(SmtpConfig(sink.host, sink.port)), "a@b.test"
    )
    result = await activities.send_journey_email(_request(workspace.workspace.id, journey_id, contact_id))
    assert (result.status, result.reason) == ("skipped", "contact_has_no_email")
    [log] = await _logs(sessions, contact_id)
    assert (log.status, log.error) == ("skipped", "contact_has_no_email")
    assert sink.messages == []


async def test_unreachable_server_leaves_the_message_pending_for_a_retry(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    journey_id, contact_id = await _seed(sessions, workspace.workspace.id, "ada@example.test")
    sender = SmtpSender(SmtpConfig("127.0.0.1", free_port(), timeout=2))
    activities = JourneyEmailActivities(sessions, JourneyVersions(), sender, "a@b.test")
    with pytest.raises(Exception, match="onnect") as raised:
        await activities.send_journey_email(_request(workspace.workspace.id, journey_id, contact_id))
    assert not isinstance(raised.value, ApplicationError)  # retryable: Temporal will try again
    [log] = await _logs(sessions, contact_id)
    assert (log.status, log.attempts) == ("pending", 1)
