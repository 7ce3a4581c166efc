"""The journey send-email activity end to end against real peers: an SMTP server (aiosmtpd), the SendGrid fake
under uvicorn, the real database. Covers the fallback chain, exactly-once, suppression, unsubscribe headers and
DKIM."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import dkim  # type: ignore[import-untyped,unused-ignore]
import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from temporalio.exceptions import ApplicationError

from activities.journeys.contracts import SendJourneyEmailInput
from activities.journeys.email import JourneyEmailActivities
from activities.journeys.versions import JourneyVersions
from domain.delivery.providers import ProviderConfig, SendGridProviderConfig, SmtpProviderConfig
from domain.ids import new_id
from mauntic.dkim_keys import generate_key_pair
from mauntic.secrets import SecretBox
from store.db import create_async_db_engine, session_factory
from store.models import Contact, DeliveryProvider, Journey, JourneyVersion, MessageLog, SendingDomain
from store.providers import store_config
from store.suppressions import NewSuppression, suppress
from store.workspaces import NewWorkspace
from tests.conftest import TEST_SECRET_KEY, make_settings
from tests.fakes.base import Scripted
from tests.fakes.sendgrid import FakeSendGrid, sendgrid_error
from tests.servers import SmtpSink, free_port, smtp_sink
from worker import journey_email_activities

BOX = SecretBox(TEST_SECRET_KEY)
SENDGRID_KEY = "SG.journey-test-key"


def definition(from_address: str | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {
        "id": "hello",
        "type": "send_email",
        "subject": "Hi {{ contact.first_name }}",
        "html": "<b>{{ contact.nickname }}</b>",
        "text": "Plan: {{ contact.plan | default: 'free' }}",
    }
    if from_address:
        step["from_address"] = from_address
    return {"trigger": {"event": "Signed Up"}, "start": "hello", "steps": [step]}


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_db_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    async with smtp_sink() as server:
        yield server


@pytest.fixture
async def sendgrid() -> AsyncIterator[FakeSendGrid]:
    fake = FakeSendGrid(api_key=SENDGRID_KEY, verified_senders={"example.test"})
    async with fake.serve():
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


def activities_for(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    relay_port: int,
    **settings: object,
) -> JourneyEmailActivities:
    config = make_settings(
        database_url, smtp_port=relay_port, smtp_timeout_seconds=2, email_from="Team <team@example.test>", **settings
    )
    return journey_email_activities(config, sessions, JourneyVersions(), http)


async def add_provider(
    sessions: async_sessionmaker[AsyncSession], workspace_id: str, name: str, priority: int, config: ProviderConfig
) -> str:
    provider = DeliveryProvider(
        id=new_id("prv"),
        workspace_id=workspace_id,
        name=name,
        type=config.TYPE.value,
        channel=config.CHANNEL.value,
        priority=priority,
    )
    store_config(provider, config, BOX)
    async with sessions() as session:
        session.add(provider)
        await session.commit()
    return provider.id


async def sendgrid_then_smtp(
    sessions: async_sessionmaker[AsyncSession], workspace_id: str, sendgrid: FakeSendGrid, smtp_port: int
) -> tuple[str, str]:
    """The chain primary (SendGrid) → secondary (SMTP on `smtp_port`); returns their ids."""
    primary = await add_provider(
        sessions, workspace_id, "primary", 10, SendGridProviderConfig(api_key=SENDGRID_KEY, base_url=sendgrid.base_url)
    )
    secondary = await add_provider(
        sessions, workspace_id, "secondary", 20, SmtpProviderConfig(host="127.0.0.1", port=smtp_port, security="none")
    )
    return primary, secondary


async def seed(
    sessions: async_sessionmaker[AsyncSession], workspace_id: str, email: str | None, from_address: str | None = None
) -> SendJourneyEmailInput:
    raw = definition(from_address)
    async with sessions() as session:
        journey = Journey(id=new_id("jr"), workspace_id=workspace_id, name="j", definition=raw)
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
                workspace_id=workspace_id, journey_id=journey.id, version=1, definition=raw, trigger_event="x"
            )
        )
        await session.commit()
    return SendJourneyEmailInput(
        workspace_id=workspace_id,
        journey_id=journey.id,
        version=1,
        step_id="hello",
        contact_id=contact.id,
        idempotency_key=f"journey:{workspace_id}:{journey.id}:{contact.id}:hello",
    )


async def logs(sessions: async_sessionmaker[AsyncSession], contact_id: str) -> list[MessageLog]:
    async with sessions() as session:
        result = await session.execute(select(MessageLog).where(col(MessageLog.contact_id) == contact_id))
        return list(result.scalars())


async def test_renders_sends_once_through_the_relay_and_logs(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    workspace: NewWorkspace,
    sink: SmtpSink,
) -> None:
    activities = activities_for(database_url, sessions, http, sink.port)
    request = await seed(sessions, workspace.workspace.id, "ada@example.test")
    first = await activities.send_journey_email(request)
    second = await activities.send_journey_email(request)
    assert (first.status, second.status) == ("sent", "already_sent")
    assert first.provider_message_id == second.provider_message_id
    [message] = await sink.wait_for(1)
    assert message["Subject"] == "Hi Ada"  # the column wins over a custom attribute of the same name
    assert message.get_body(("html",)).get_content().strip() == "<b>&lt;script&gt;</b>"  # type: ignore[union-attr]
    assert message.get_body(("plain",)).get_content().strip() == "Plan: free"  # type: ignore[union-attr]
    assert message["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/u/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    [log] = await logs(sessions, request.contact_id)
    assert (log.status, log.to_address, log.provider, log.step_id) == (
        "sent",
        "ada@example.test",
        "default-smtp",
        "hello",
    )
    assert log.subject == "Hi Ada"
    assert log.provider_message_id == message["Message-ID"]
    assert len(sink.messages) == 1


async def test_a_persistently_failing_primary_fails_over_to_the_secondary_once(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    workspace: NewWorkspace,
    sink: SmtpSink,
    sendgrid: FakeSendGrid,
) -> None:
    workspace_id = workspace.workspace.id
    _, secondary = await sendgrid_then_smtp(sessions, workspace_id, sendgrid, sink.port)
    sendgrid.script(*[Scripted(503, {"errors": [{"message": "service unavailable"}]})] * 10)
    activities = activities_for(database_url, sessions, http, free_port())
    request = await seed(sessions, workspace_id, "ada@example.test")

    sent = await activities.send_journey_email(request)
    again = await activities.send_journey_email(request)  # a retry after the outcome was written

    assert (sent.status, again.status) == ("sent", "already_sent")
    assert len(sendgrid.received) == 1
    assert sendgrid.accepted == []
    [message] = await sink.wait_for(1)
    [log] = await logs(sessions, request.contact_id)
    assert (log.status, log.provider, log.error) == ("sent", secondary, None)
    assert log.provider_message_id == message["Message-ID"]
    assert len(sink.messages) == 1


async def test_the_breaker_stops_asking_a_primary_that_keeps_failing(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    workspace: NewWorkspace,
    sink: SmtpSink,
    sendgrid: FakeSendGrid,
) -> None:
    workspace_id = workspace.workspace.id
    await sendgrid_then_smtp(sessions, workspace_id, sendgrid, sink.port)
    sendgrid.script(*[Scripted(503, {"errors": [{"message": "service unavailable"}]})] * 20)
    activities = activities_for(
        database_url, sessions, http, free_port(), provider_breaker_failures=3, provider_breaker_cooldown_seconds=600
    )
    for index in range(6):
        request = await seed(sessions, workspace_id, f"reader{index}@example.test")
        assert (await activities.send_journey_email(request)).status == "sent"

    assert len(sendgrid.received) == 3, "after three failures in a row the open circuit skips the primary"
    assert len(await sink.wait_for(6)) == 6


async def test_an_invalid_recipient_at_the_primary_does_not_fail_over(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    workspace: NewWorkspace,
    sink: SmtpSink,
    sendgrid: FakeSendGrid,
) -> None:
    workspace_id = workspace.workspace.id
    primary, _ = await sendgrid_then_smtp(sessions, workspace_id, sendgrid, sink.port)
    sendgrid.script(sendgrid_error(400, "Does not contain a valid address.", "personalizations.0.to.0.email"))
    activities = activities_for(database_url, sessions, http, free_port())
    request = await seed(sessions, workspace_id, "ada@example.test")

    with pytest.raises(ApplicationError) as refused:
        await activities.send_journey_email(request)

    assert refused.value.non_retryable
    assert sink.messages == []
    [log] = await logs(sessions, request.contact_id)
    assert (log.status, log.provider) == ("failed", primary)
    assert log.error is not None
    assert "Does not contain a valid address" in log.error


async def test_when_every_provider_fails_the_message_stays_pending_for_a_retry(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    workspace: NewWorkspace,
    sendgrid: FakeSendGrid,
) -> None:
    workspace_id = workspace.workspace.id
    await sendgrid_then_smtp(sessions, workspace_id, sendgrid, free_port())
    sendgrid.script(Scripted(429, {"errors": [{"message": "too many requests"}]}, {"Retry-After": "42"}))
    activities = activities_for(database_url, sessions, http, free_port())
    request = await seed(sessions, workspace_id, "ada@example.test")

    with pytest.raises(ApplicationError) as exhausted:
        await activities.send_journey_email(request)

    assert not exhausted.value.non_retryable
    assert exhausted.value.type == "ChainExhausted"
    [log] = await logs(sessions, request.contact_id)
    assert (log.status, log.attempts) == ("pending", 1)
    assert log.error is not None
    assert "primary: transient" in log.error
    assert "secondary: transient" in log.error


async def test_unreachable_relay_is_retryable(
    database_url: str, sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient, workspace: NewWorkspace
) -> None:
    activities = activities_for(database_url, sessions, http, free_port())
    request = await seed(sessions, workspace.workspace.id, "ada@example.test")
    with pytest.raises(ApplicationError) as raised:
        await activities.send_journey_email(request)
    assert not raised.value.non_retryable
    [log] = await logs(sessions, request.contact_id)
    assert (log.status, log.attempts) == ("pending", 1)


async def test_contact_without_email_is_skipped_with_reason(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    workspace: NewWorkspace,
    sink: SmtpSink,
) -> None:
    activities = activities_for(database_url, sessions, http, sink.port)
    request = await seed(sessions, workspace.workspace.id, None)
    result = await activities.send_journey_email(request)
    assert (result.status, result.reason) == ("skipped", "contact_has_no_email")
    [log] = await logs(sessions, request.contact_id)
    assert (log.status, log.error) == ("skipped", "contact_has_no_email")
    assert sink.messages == []


async def test_a_suppressed_address_is_skipped_and_logged_with_the_reason(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    workspace: NewWorkspace,
    sink: SmtpSink,
) -> None:
    async with sessions() as session:
        await suppress(session, workspace.workspace.id, [NewSuppression("email", "ADA@example.test", "hard_bounce")])
        await session.commit()
    activities = activities_for(database_url, sessions, http, sink.port)
    request = await seed(sessions, workspace.workspace.id, "ada@example.test")
    result = await activities.send_journey_email(request)
    assert (result.status, result.reason) == ("skipped", "suppressed: hard_bounce")
    [log] = await logs(sessions, request.contact_id)
    assert (log.status, log.error) == ("skipped", "suppressed: hard_bounce")
    assert sink.messages == []


async def test_mail_from_a_verified_domain_is_dkim_signed_over_the_unsubscribe_headers(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    workspace: NewWorkspace,
    sink: SmtpSink,
) -> None:
    workspace_id = workspace.workspace.id
    keys = generate_key_pair(BOX, datetime.now(UTC))
    async with sessions() as session:
        session.add(
            SendingDomain(
                id=new_id("sd"),
                workspace_id=workspace_id,
                domain="news.example.test",
                status="verified",
                dkim_selector=keys.selector,
                dkim_private_key=keys.encrypted_private_key,
                dkim_public_key=keys.public_key_b64,
            )
        )
        await session.commit()
    activities = activities_for(database_url, sessions, http, sink.port)
    signed = await seed(sessions, workspace_id, "ada@example.test", from_address="News <hello@news.example.test>")
    unsigned = await seed(sessions, workspace_id, "bob@example.test", from_address="hello@other.example.test")
    await activities.send_journey_email(signed)
    await activities.send_journey_email(unsigned)

    by_recipient = {m["To"]: (m, raw) for m, raw in zip(await sink.wait_for(2), sink.raw, strict=True)}
    message, raw = by_recipient["ada@example.test"]
    signature = message["DKIM-Signature"]
    assert "d=news.example.test" in signature
    assert f"s={keys.selector}" in signature
    assert "list-unsubscribe-post" in signature.lower()
    record = f"v=DKIM1; k=rsa; p={keys.public_key_b64}".encode()

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return record if name == f"{keys.selector}._domainkey.news.example.test.".encode() else b""

    assert dkim.verify(raw, dnsfunc=dns)
    assert "DKIM-Signature" not in by_recipient["bob@example.test"][0]


async def test_a_lost_answer_is_uncertain_and_never_sent_again_or_elsewhere(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    workspace: NewWorkspace,
    sink: SmtpSink,
    sendgrid: FakeSendGrid,
) -> None:
    workspace_id = workspace.workspace.id
    primary, _ = await sendgrid_then_smtp(sessions, workspace_id, sendgrid, sink.port)
    sendgrid.script(Scripted(hang=True))  # SendGrid got the request; its answer never comes
    request = await seed(sessions, workspace_id, "ada@example.test")
    async with httpx.AsyncClient(timeout=0.5) as impatient:
        activities = activities_for(database_url, sessions, impatient, free_port())
        first = await activities.send_journey_email(request)
        retried = await activities.send_journey_email(request)

    assert (first.status, retried.status) == ("uncertain", "uncertain")
    assert len(sendgrid.received) == 1
    assert sink.messages == [], "the secondary must not send a possible second copy"
    [log] = await logs(sessions, request.contact_id)
    assert (log.status, log.provider) == ("uncertain", primary)


async def test_an_attempt_that_died_while_sending_is_not_sent_again(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    workspace: NewWorkspace,
    sink: SmtpSink,
) -> None:
    request = await seed(sessions, workspace.workspace.id, "ada@example.test")
    async with sessions() as session:  # what a worker killed mid-send leaves behind
        session.add(
            MessageLog(
                id=new_id("msg"),
                workspace_id=request.workspace_id,
                idempotency_key=request.idempotency_key,
                contact_id=request.contact_id,
                to_address="ada@example.test",
                status="sending",
            )
        )
        await session.commit()
    activities = activities_for(database_url, sessions, http, sink.port)

    result = await activities.send_journey_email(request)

    assert result.status == "uncertain"
    assert sink.messages == []
    [log] = await logs(sessions, request.contact_id)
    assert log.status == "uncertain"


async def test_a_provider_whose_stored_secrets_do_not_decrypt_is_passed_over(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    workspace: NewWorkspace,
    sink: SmtpSink,
    sendgrid: FakeSendGrid,
) -> None:
    workspace_id = workspace.workspace.id
    broken, secondary = await sendgrid_then_smtp(sessions, workspace_id, sendgrid, sink.port)
    async with sessions() as session:  # encrypted under another master key
        row = await session.get(DeliveryProvider, broken)
        assert row is not None
        row.secrets = SecretBox("another-master-key-" + "x" * 32).encrypt_json({"api_key": SENDGRID_KEY})
        await session.commit()
    activities = activities_for(database_url, sessions, http, free_port())
    request = await seed(sessions, workspace_id, "ada@example.test")

    assert (await activities.send_journey_email(request)).status == "sent"

    assert sendgrid.received == []
    [log] = await logs(sessions, request.contact_id)
    assert (log.status, log.provider) == ("sent", secondary)


async def test_a_retry_after_a_recorded_refusal_does_not_send(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    workspace: NewWorkspace,
    sink: SmtpSink,
    sendgrid: FakeSendGrid,
) -> None:
    """The refusal was recorded, then the worker died before Temporal heard of it: the retry repeats the verdict."""
    workspace_id = workspace.workspace.id
    await sendgrid_then_smtp(sessions, workspace_id, sendgrid, sink.port)
    sendgrid.script(sendgrid_error(400, "Does not contain a valid address.", "personalizations.0.to.0.email"))
    activities = activities_for(database_url, sessions, http, free_port())
    request = await seed(sessions, workspace_id, "ada@example.test")
    with pytest.raises(ApplicationError):
        await activities.send_journey_email(request)

    with pytest.raises(ApplicationError) as again:
        await activities.send_journey_email(request)

    assert again.value.non_retryable
    assert "Does not contain a valid address" in str(again.value)
    assert len(sendgrid.received) == 1
    assert sink.messages == []


async def test_a_refusal_quoting_nul_and_a_lone_surrogate_is_still_recorded(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    workspace: NewWorkspace,
    sink: SmtpSink,
    sendgrid: FakeSendGrid,
) -> None:
    """The provider's reason lands in the message log; PostgreSQL text holds neither character, and a failed write
    would leave the row `sending` (then uncertain) although the provider refused the message."""
    workspace_id = workspace.workspace.id
    primary, _ = await sendgrid_then_smtp(sessions, workspace_id, sendgrid, sink.port)
    sendgrid.script(sendgrid_error(400, "Does not contain a valid address: a\x00b \udcff", "personalizations"))
    activities = activities_for(database_url, sessions, http, free_port())
    request = await seed(sessions, workspace_id, "ada@example.test")

    with pytest.raises(ApplicationError):
        await activities.send_journey_email(request)

    [log] = await logs(sessions, request.contact_id)
    assert (log.status, log.provider) == ("failed", primary)
    assert log.error is not None
    assert "a\\x00b \\udcff" in log.error
