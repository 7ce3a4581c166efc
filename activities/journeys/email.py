"""The journey send steps, every channel (send_email, send_sms, send_push: the step says which): render the step
for the contact, send once through the workspace's provider chain for its channel, and log which provider took it.
What differs by channel (the recipient, the rendering) is in channel_messages.py; everything below holds for all.

Never twice, and never lost to a crash: the message-log row is claimed as `pending` under the step's idempotency
key (in the transaction that reads the contact and its suppression). Then the email is composed (unsubscribe token,
DKIM key) and the provider chain resolved, with the row still `pending`: a crash or a cancellation there leaves a
claim that a retry simply sends. Only right before a provider's send call (chain.deliver_through's `on_attempt`,
after the deadline and circuit-breaker checks) is the row marked `sending`, with that provider, in one small
committed UPDATE. The uncertain window is therefore that provider call: for SMTP the connect, envelope and DATA,
for an HTTP provider its request. The outcome is written (with retries) after the provider answered. A retried
activity that finds `sent` stops; one that finds `sending` knows an earlier attempt died while a provider had the
message (a worker crash, a timeout) and records `uncertain` rather than risk a second copy. So is an answer that
was lost after the provider got the request. Uncertain messages are listed and resolved through /v1/messages.

message.sent: when the workspace has an endpoint subscribed to it (a cached look-up, made before the provider
call), the `sent` outcome and its outbox row (event id: the message log id) are written in one transaction; without
one the outcome stays a single autocommit UPDATE.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.delivery.chain import ChainExhausted, ChainLink, ChainResult, OutcomeUncertain, PermanentlyRefused
from activities.delivery.composer import ComposeError, EmailComposer, RenderedEmail
from activities.delivery.service import Delivery
from activities.journeys.channel_messages import (
    SendStep,
    channel_of,
    missing_recipient,
    recipient,
    render_push,
    render_sms,
)
from activities.journeys.contracts import SEND_JOURNEY_EMAIL, SendJourneyEmailInput, SendJourneyEmailOutput
from activities.journeys.versions import JourneyVersions
from domain.clock import utcnow
from domain.content.preview import render_fields
from domain.content.templates import TemplateError
from domain.delivery.email import contact_context
from domain.events.interest import OutboxKind
from domain.ids import new_id
from domain.journeys.definition import SendEmailStep
from domain.journeys.steps import SendPushStep, SendSmsStep
from domain.json_limits import printable
from domain.outbound_webhooks.events import WebhookEventType
from store.consent import send_decision
from store.contacts import company_fields, contact_fields
from store.messages import PENDING, SENDING, claim, marking_sending
from store.models import Contact, MessageLog
from store.outbox import OutboxEvent, enqueue_on
from store.suppressions import contact_with_email_suppression
from store.webhook_endpoints import SubscribedTypes

logger = logging.getLogger(__name__)
_RECORD_ATTEMPTS = 8
_DEADLINE_MARGIN_SECONDS = 5.0


def _deadline() -> float | None:
    """When the chain must stop starting providers: a few seconds before this attempt's start-to-close timeout, so
    the attempt ends with a verdict of its own rather than being cut off mid-send."""
    if not activity.in_activity():
        return None
    info = activity.info()
    if info.start_to_close_timeout is None:
        return None
    left = (info.started_time + info.start_to_close_timeout - datetime.now(UTC)).total_seconds()
    return time.monotonic() + left - _DEADLINE_MARGIN_SECONDS


def _skip_reason(channel: str, contact: Contact | None, suppressed: str | None) -> str | None:
    if contact is None:
        return "contact_deleted"
    if recipient(channel, contact) is None:
        return missing_recipient(channel)
    if suppressed is not None:
        return f"suppressed: {suppressed}"
    return None


class JourneyEmailActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        versions: JourneyVersions,
        composer: EmailComposer,
        delivery: Delivery,
        default_from: str,
        subscribed: SubscribedTypes | None = None,
    ) -> None:
        self._sessions = sessions
        # message.sent goes to the outbox only for workspaces with an endpoint subscribed to it (cached check)
        self._subscribed = subscribed or SubscribedTypes(sessions)
        self._transactional: AsyncEngine = sessions.kw["bind"]
        # The row's status updates are single statements: run on a connection, without an ORM session's
        # bookkeeping (one of the worker's costs per send; measured with the send loop on SQLite).
        # Single-statement writes commit as they run (autocommit): on SQLite a transaction left open across an
        # await holds the database's one write lock for as long as this busy event loop takes to come back.
        self._engine: AsyncEngine = sessions.kw["bind"].execution_options(isolation_level="AUTOCOMMIT")
        self._versions = versions
        self._composer = composer
        self._delivery = delivery
        self._default_from = default_from

    @activity.defn(name=SEND_JOURNEY_EMAIL)
    async def send_journey_email(self, request: SendJourneyEmailInput) -> SendJourneyEmailOutput:
        # One transaction claims the row: `pending` when the contact can be sent to, `skipped` with the reason
        # when not. A retry finds the row as the earlier attempt left it; `pending` means nothing went out yet.
        async with self._sessions() as session:
            step = await self._step(session, request)
            channel = channel_of(step)
            if channel == "email":
                contact, suppressed = await contact_with_email_suppression(
                    session, request.workspace_id, request.contact_id
                )
            else:
                contact, suppressed = await self._contact(session, request), None
            company = await company_fields(session, contact) if contact is not None else None
            skip = _skip_reason(channel, contact, suppressed)
            if skip is None and not step.transactional:
                # the consent gate: the channel and the step's topic (transactional messages are exempt)
                decision = await send_decision(session, request.workspace_id, request.contact_id, channel, step.topic)
                skip = decision.reason if not decision.allowed else None
            draft = self._draft(request, channel, contact, skip)
            log = await claim(session, draft)
            claimed_now = log is draft
            await session.commit()
        # No connection is held while providers talk.
        if log.status == "sent":
            return SendJourneyEmailOutput(
                message_log_id=log.id, status="already_sent", provider_message_id=log.provider_message_id
            )
        if not claimed_now and log.status in (SENDING, "uncertain"):
            reason = "an earlier attempt stopped while a provider had the message; not sent again"
            await self._record(log.id, status="uncertain", error=log.error or reason)
            return SendJourneyEmailOutput(message_log_id=log.id, status="uncertain", reason=log.error or reason)
        if not claimed_now and log.status in ("skipped", "failed"):  # an earlier attempt's verdict stands
            if log.status == "failed":
                raise ApplicationError(log.error or "failed", type="PermanentDeliveryError", non_retryable=True)
            return SendJourneyEmailOutput(message_log_id=log.id, status="skipped", reason=log.error)
        if skip is not None:
            if not claimed_now:
                await self._record(log.id, status="skipped", error=skip)
            return SendJourneyEmailOutput(message_log_id=log.id, status="skipped", reason=skip)
        assert contact is not None  # a contact without one is skipped above
        try:
            send, subject = await self._message(request, step, contact, company, log.id)
        except TemplateError as exc:
            await self._record(log.id, status="failed", error=str(exc))
            raise ApplicationError(str(exc), type="TemplateError", non_retryable=True) from exc
        except ComposeError as exc:
            await self._record(log.id, status="pending", error=str(exc))
            raise ApplicationError(str(exc), type="ComposeError") from exc
        # asked before the provider call: a failing look-up fails the attempt while nothing went out
        announce_sent = await self._subscribed.wants(request.workspace_id, WebhookEventType.MESSAGE_SENT)
        try:
            result = await send()
        except OutcomeUncertain as exc:
            await self._record(log.id, status="uncertain", error=str(exc), provider=exc.provider_id)
            return SendJourneyEmailOutput(message_log_id=log.id, status="uncertain", reason=str(exc))
        except PermanentlyRefused as exc:
            await self._record(log.id, status="failed", error=str(exc), provider=exc.provider_id)
            raise ApplicationError(str(exc), exc.code, type="PermanentDeliveryError", non_retryable=True) from exc
        except ChainExhausted as exc:
            await self._record(log.id, status="pending", error=str(exc))
            delay = timedelta(seconds=exc.retry_after) if exc.retry_after is not None else None
            raise ApplicationError(str(exc), type="ChainExhausted", next_retry_delay=delay) from exc
        provider_message_id = result.acceptance.provider_message_id
        sent_at = utcnow()
        announce = (
            _sent_event(request, channel, log.id, result.provider_id, provider_message_id, sent_at)
            if announce_sent
            else None
        )
        await self._record(
            log.id,
            status="sent",
            provider=result.provider_id,
            provider_message_id=provider_message_id,
            subject=subject,
            announce=announce,
            sent_at=sent_at,
        )
        return SendJourneyEmailOutput(message_log_id=log.id, status="sent", provider_message_id=provider_message_id)

    async def _step(self, session: AsyncSession, request: SendJourneyEmailInput) -> SendStep:
        definition = await self._versions.get(session, request.workspace_id, request.journey_id, request.version)
        step = definition.step(request.step_id)
        if not isinstance(step, SendEmailStep | SendSmsStep | SendPushStep):
            raise ApplicationError(f"step {request.step_id} is not a send step", non_retryable=True)
        return step

    @staticmethod
    async def _contact(session: AsyncSession, request: SendJourneyEmailInput) -> Contact | None:
        contact = await session.get(Contact, request.contact_id)
        return contact if contact is not None and contact.workspace_id == request.workspace_id else None

    async def _message(
        self,
        request: SendJourneyEmailInput,
        step: SendStep,
        contact: Contact,
        company: dict[str, Any] | None,
        log_id: str,
    ) -> tuple[Callable[[], Awaitable[ChainResult]], str | None]:
        """The rendered message's send through the channel's chain (not started yet), and the subject logged."""
        workspace, deadline, marker = request.workspace_id, _deadline(), self._marker(log_id)
        if isinstance(step, SendEmailStep):
            email = await self._composer.compose(self._render(request, step, contact, company, log_id))
            return (lambda: self._delivery.send_email(workspace, email, deadline, on_attempt=marker)), email.subject
        context = self._context(request, contact, company)
        to = recipient(channel_of(step), contact) or ""
        if isinstance(step, SendSmsStep):
            sms = render_sms(step, context, to, request.idempotency_key, log_id)
            return (lambda: self._delivery.send_sms(workspace, sms, deadline, on_attempt=marker)), None
        push = render_push(step, context, to, request.idempotency_key, log_id)
        title = push.title[:998] if push.title else None
        return (lambda: self._delivery.send_push(workspace, push, deadline, on_attempt=marker)), title

    def _context(
        self, request: SendJourneyEmailInput, contact: Contact, company: dict[str, Any] | None
    ) -> dict[str, Any]:
        """What templates see: the contact, its company, and its preference-page link."""
        link = self._composer.preferences_url(request.workspace_id, contact.id)
        return {**contact_context(contact_fields(contact), company), "preferences_url": link}

    @staticmethod
    def _draft(request: SendJourneyEmailInput, channel: str, contact: Contact | None, skip: str | None) -> MessageLog:
        return MessageLog(
            id=new_id("msg"),
            workspace_id=request.workspace_id,
            idempotency_key=request.idempotency_key,
            journey_id=request.journey_id,
            contact_id=request.contact_id,
            step_id=request.step_id,
            channel=channel,
            to_address=((recipient(channel, contact) or "")[:320] if contact else ""),
            status="skipped" if skip else PENDING,
            error=skip,
        )

    def _render(
        self,
        request: SendJourneyEmailInput,
        step: SendEmailStep,
        contact: Contact,
        company: dict[str, Any] | None,
        log_id: str,
    ) -> RenderedEmail:
        # the rendering previews use too (POST /v1/journeys/{id}/steps/{step}/preview): what is shown is what is sent
        rendered = render_fields(step.templates(), self._context(request, contact, company))
        return RenderedEmail(
            workspace_id=request.workspace_id,
            message_log_id=log_id,
            idempotency_key=request.idempotency_key,
            sender=step.from_address or self._default_from,
            to=contact.email or "",
            subject=rendered["subject"],
            html=rendered.get("html"),
            text=rendered.get("text"),
        )

    def _marker(self, log_id: str) -> Callable[[ChainLink[Any]], Awaitable[None]]:
        """Marks the row `sending` (and with which provider) right before a provider's send call. Committed
        before the call, so a crash during it is seen by the retry; failing here sends nothing (the row stays
        `pending` and the activity's retry sends)."""

        async def mark(link: ChainLink[Any]) -> None:
            async with self._engine.connect() as connection:
                await connection.execute(marking_sending(log_id, link.provider_id))

        return mark

    async def _record(
        self,
        log_id: str,
        *,
        status: str,
        error: str | None = None,
        announce: OutboxEvent | None = None,
        sent_at: datetime | None = None,
        **outcome: str | None,
    ) -> None:
        """Write the outcome to the message log. Once a provider has accepted the message this must not fail
        the activity (a retry would find the row pending and send again), so database hiccups (a locked SQLite,
        an exhausted pool) are retried here, in fresh sessions. `announce` (message.sent for a subscribed
        workspace) is written in the same transaction as the outcome; without it the outcome is one autocommit
        UPDATE."""
        # an error may quote a provider's reply: NUL or a lone surrogate there would fail the write
        values: dict[str, object] = {"status": status, "error": printable(error)[:2000] if error else None}
        values.update({name: value for name, value in outcome.items() if value is not None})
        if status == "sent":
            values["sent_at"] = sent_at or utcnow()
        statement = (
            update(MessageLog)
            .where(col(MessageLog.id) == log_id)
            .values(attempts=col(MessageLog.attempts) + 1, **values)
        )
        for attempt in range(_RECORD_ATTEMPTS):
            try:
                if announce is None:
                    async with self._engine.connect() as connection:
                        await connection.execute(statement)
                else:
                    async with self._transactional.begin() as connection:
                        await connection.execute(statement)
                        await enqueue_on(connection, [announce], utcnow())
                return
            except SQLAlchemyError as exc:
                logger.warning("recording message %s as %s failed (attempt %d): %r", log_id, status, attempt + 1, exc)
                await asyncio.sleep(min(0.1 * 2**attempt, 2.0))
        logger.error("message %s could not be recorded as %s", log_id, status)


def _sent_event(
    request: SendJourneyEmailInput,
    channel: str,
    log_id: str,
    provider: str,
    provider_message_id: str | None,
    sent_at: datetime,
) -> OutboxEvent:
    """The outbox row announcing message.sent (event id: the message log id, so a repeated write queues no second
    delivery)."""
    properties: dict[str, Any] = {
        "message_id": log_id, "journey_id": request.journey_id, "step_id": request.step_id,
        "provider": provider, "provider_message_id": provider_message_id,
    }  # fmt: skip
    return OutboxEvent(
        request.workspace_id, request.contact_id, log_id, channel, properties, sent_at, OutboxKind.MESSAGE_SENT
    )
