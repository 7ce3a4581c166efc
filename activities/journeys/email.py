"""The journey send-email step: render the step's templates for the contact, send once, log it."""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.delivery.smtp import PermanentDeliveryError, SmtpSender, TransientDeliveryError
from activities.journeys.contracts import SEND_JOURNEY_EMAIL, SendJourneyEmailInput, SendJourneyEmailOutput
from activities.journeys.versions import JourneyVersions
from domain.clock import utcnow
from domain.content.templates import TemplateError, render_html, render_text
from domain.delivery.email import build_email, contact_context
from domain.ids import new_id
from domain.journeys.definition import SendEmailStep
from store.contacts import get_contact
from store.messages import claim
from store.models import Contact, MessageLog

logger = logging.getLogger(__name__)
_RECORD_ATTEMPTS = 8
_CONTACT_FIELDS = ("id", "external_id", "email", "phone", "first_name", "last_name", "timezone", "attributes")


def _contact_fields(contact: Contact) -> dict[str, object]:
    return {name: getattr(contact, name) for name in _CONTACT_FIELDS}


class JourneyEmailActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        versions: JourneyVersions,
        sender: SmtpSender,
        from_address: str,
    ) -> None:
        self._sessions = sessions
        self._versions = versions
        self._sender = sender
        self._from = from_address

    @activity.defn(name=SEND_JOURNEY_EMAIL)
    async def send_journey_email(self, request: SendJourneyEmailInput) -> SendJourneyEmailOutput:
        async with self._sessions() as session:
            step = await self._step(session, request)
            contact = await get_contact(session, request.workspace_id, request.contact_id)
            log = await claim(session, self._draft(request, step, contact))
            await session.commit()
        # No connection is held while the provider talks.
        if log.status == "sent":
            return SendJourneyEmailOutput(
                message_log_id=log.id, status="already_sent", provider_message_id=log.provider_message_id
            )
        if contact is None or not contact.email:
            reason = "contact_deleted" if contact is None else "contact_has_no_email"
            await self._record(log.id, status="skipped", error=reason)
            return SendJourneyEmailOutput(message_log_id=log.id, status="skipped", reason=reason)
        try:
            provider_id = await self._sender.send(self._render(step, contact, request.idempotency_key))
        except (TemplateError, PermanentDeliveryError) as exc:
            await self._record(log.id, status="failed", error=str(exc))
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc
        except TransientDeliveryError as exc:
            await self._record(log.id, status="pending", error=str(exc))
            raise
        await self._record(log.id, status="sent", provider_message_id=provider_id)
        return SendJourneyEmailOutput(message_log_id=log.id, status="sent", provider_message_id=provider_id)

    async def _step(self, session: AsyncSession, request: SendJourneyEmailInput) -> SendEmailStep:
        definition = await self._versions.get(session, request.workspace_id, request.journey_id, request.version)
        step = definition.step(request.step_id)
        if not isinstance(step, SendEmailStep):
            raise ApplicationError(f"step {request.step_id} is not send_email", non_retryable=True)
        return step

    def _draft(self, request: SendJourneyEmailInput, step: SendEmailStep, contact: Contact | None) -> MessageLog:
        return MessageLog(
            id=new_id("msg"),
            workspace_id=request.workspace_id,
            idempotency_key=request.idempotency_key,
            journey_id=request.journey_id,
            contact_id=request.contact_id,
            step_id=request.step_id,
            channel="email",
            to_address=(contact.email if contact and contact.email else ""),
            provider=self._sender.name,
        )

    def _render(self, step: SendEmailStep, contact: Contact, idempotency_key: str) -> EmailMessage:
        context = contact_context(_contact_fields(contact))
        return build_email(
            sender=self._from,
            to=contact.email or "",
            subject=render_text(step.subject, context).replace("\r", " ").replace("\n", " "),
            html=render_html(step.html, context) if step.html is not None else None,
            text=render_text(step.text, context) if step.text is not None else None,
            idempotency_key=idempotency_key,
        )

    async def _record(
        self, log_id: str, *, status: str, error: str | None = None, provider_message_id: str | None = None
    ) -> None:
        """Write the outcome to the message log. Once the provider has accepted the message this must not fail
        the activity (a retry would find the row pending and send again), so database hiccups (a locked SQLite,
        an exhausted pool) are retried here, in fresh sessions."""
        values: dict[str, object] = {"status": status, "error": error[:2000] if error else None}
        if provider_message_id:
            values.update(provider_message_id=provider_message_id, sent_at=utcnow())
        statement = (
            update(MessageLog)
            .where(col(MessageLog.id) == log_id)
            .values(attempts=col(MessageLog.attempts) + 1, **values)
        )
        for attempt in range(_RECORD_ATTEMPTS):
            try:
                async with self._sessions() as session:
                    await session.execute(statement)
                    await session.commit()
                return
            except SQLAlchemyError as exc:
                logger.warning("recording message %s as %s failed (attempt %d): %r", log_id, status, attempt + 1, exc)
                await asyncio.sleep(min(0.1 * 2**attempt, 2.0))
        logger.error("message %s could not be recorded as %s", log_id, status)
