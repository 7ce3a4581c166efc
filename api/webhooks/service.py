"""Receiving a provider webhook: authenticate the raw request, normalize, store once, apply effects, signal journeys.

Order of work, so that a forged, replayed or stale request changes nothing: the provider row (its type and secrets)
→ the provider's authenticity check on the raw request → parsing and normalization (a malformed payload is a 400)
→ one transaction: Mailgun's token claimed with the digest of the body (the same token with another body is a
replay, refused and rolled back; with the same body it is Mailgun retrying), the events inserted under
their unique (provider_id, provider_event_id), suppressions for the new hard bounces, complaints and
unsubscribes and each new event about a known contact written to the dispatch outbox (store/outbox.py) → commit. The
dispatcher hands those to the contact's journeys; the request does no Temporal round trip. A duplicate was
handed over with its first report, so only new events go to the outbox; a journey ignores an event id it has
seen anyway (a provider event's signal id is derived from its provider event id, store.delivery_events.signal_id).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from api.context import AppContext
from api.errors import NotFound, PayloadTooLarge, Unavailable
from api.ingest_body import decode_json
from api.webhooks import errors
from api.webhooks.verify_mailgun import TOKEN_KEEP_SECONDS, MailgunToken, verify_mailgun
from api.webhooks.verify_postmark import verify_postmark
from api.webhooks.verify_sendgrid import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_sendgrid
from api.webhooks.verify_sns import (
    NOTIFICATION,
    SUBSCRIPTION_CONFIRMATION,
    HttpxSnsFetcher,
    SnsFetcher,
    sns_url_allowed,
    verify_sns,
)
from api.webhooks.verify_twilio import SIGNATURE_HEADER as TWILIO_SIGNATURE_HEADER
from api.webhooks.verify_twilio import verify_twilio
from domain.clock import utcnow
from domain.consent.model import ConsentSource, ConsentStatus
from domain.delivery.providers import (
    MailgunProviderConfig,
    PostmarkProviderConfig,
    ProviderType,
    SendGridProviderConfig,
    SesProviderConfig,
    TwilioProviderConfig,
)
from domain.events.interest import Interest
from domain.webhooks.mailgun import normalize_mailgun
from domain.webhooks.model import EventType, MalformedPayload, NormalizedEvent
from domain.webhooks.postmark import normalize_postmark
from domain.webhooks.sendgrid import normalize_sendgrid
from domain.webhooks.ses import normalize_ses
from domain.webhooks.twilio import normalize_twilio
from store.consent import consent_at_address
from store.delivery_events import RecordedEvent, record_delivery_events
from store.messages import UNCERTAIN, resolve_reported
from store.outbox import OutboxEvent, enqueue
from store.webhook_nonces import claim_nonce
from store.webhook_providers import UnreadableProviderConfig, WebhookProvider, load_webhook_provider

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 5_000_000
SNS_FETCHER_KEY = "webhooks.sns_fetcher"
CLOCK_KEY = "webhooks.clock"  # a () -> float returning Unix seconds; tests may replace it
_SERVICE_KEY = "webhooks.service"
_SUPPORTED = frozenset(
    {ProviderType.SENDGRID, ProviderType.SES, ProviderType.MAILGUN, ProviderType.POSTMARK, ProviderType.TWILIO}
)


@dataclass(frozen=True)
class Outcome:
    """What the endpoint answers: how many distinct events the request carried and how many were new."""

    events: int = 0
    new: int = 0
    confirmed: bool | None = None  # an SNS subscription confirmation

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"events": self.events, "new": self.new, "duplicates": self.events - self.new}
        if self.confirmed is not None:
            body["confirmed"] = self.confirmed
        return body


@dataclass(frozen=True)
class _Parsed:
    events: list[NormalizedEvent]
    nonce: MailgunToken | None = None
    body_digest: str = ""  # SHA-256 of the raw body, which the nonce is bound to
    confirmed: bool | None = None


class WebhookService:
    def __init__(self, context: AppContext) -> None:
        self._context = context
        # SQLite has one writer: our own transactions queue here rather than in SQLite's busy handler.
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if context.engine.dialect.name == "sqlite" else None

    @property
    def fetcher(self) -> SnsFetcher:
        fetcher = self._context.extras.get(SNS_FETCHER_KEY)
        if fetcher is None:
            fetcher = self._context.extras[SNS_FETCHER_KEY] = HttpxSnsFetcher()
        return fetcher  # type: ignore[return-value]

    def _now(self) -> float:
        clock = self._context.extras.get(CLOCK_KEY)
        return float(clock()) if callable(clock) else time.time()

    async def receive(self, provider_id: str, request: Request) -> Outcome:
        provider = await self._provider(provider_id)
        body = await read_body(request)
        received_at = utcnow()
        parsed = await self._authenticate_and_parse(provider, request, body, received_at)
        if not parsed.events:
            return Outcome(confirmed=parsed.confirmed)
        interest = await self._context.interest.of(provider.workspace_id)
        recorded = await self._store(provider, parsed, received_at, interest)
        if any(r.new and r.message is not None and r.message.contact_id and interest.wants(r.event.type.value)
               for r in recorded):  # fmt: skip
            self._context.waker.wake()
        return Outcome(events=len(recorded), new=sum(1 for r in recorded if r.new))

    async def _provider(self, provider_id: str) -> WebhookProvider:
        try:
            async with self._context.sessions() as session:
                provider = await load_webhook_provider(session, self._context.secrets, provider_id)
        except UnreadableProviderConfig as exc:
            log.error("webhook for %s: %s", provider_id, exc)
            raise Unavailable(
                "the provider's stored configuration cannot be read", code="provider_unreadable"
            ) from None
        if provider is None:
            raise errors.provider_not_found(provider_id)
        if provider.type not in _SUPPORTED:
            raise NotFound(f"{provider.type.value} providers have no webhooks", code="webhooks_not_supported")
        return provider

    async def _authenticate_and_parse(
        self, provider: WebhookProvider, request: Request, body: bytes, received_at: datetime
    ) -> _Parsed:
        config = provider.config
        try:
            if isinstance(config, SendGridProviderConfig):
                headers = request.headers
                verify_sendgrid(config.webhook_verification_key, headers.get(SIGNATURE_HEADER),
                                headers.get(TIMESTAMP_HEADER), body, self._now())  # fmt: skip
                return _Parsed(normalize_sendgrid(decode_json(body), received_at))
            if isinstance(config, SesProviderConfig):
                return await self._sns(config, decode_json(body), received_at)
            if isinstance(config, MailgunProviderConfig):
                payload = decode_json(body)
                nonce = verify_mailgun(config.webhook_signing_key, payload, self._now())
                digest = hashlib.sha256(body).hexdigest()
                return _Parsed(normalize_mailgun(payload, received_at), nonce=nonce, body_digest=digest)
            if isinstance(config, PostmarkProviderConfig):
                verify_postmark(config.webhook_username, config.webhook_password, request.headers.get("authorization"))
                return _Parsed(normalize_postmark(decode_json(body), received_at))
            if isinstance(config, TwilioProviderConfig):
                params = _form(body)
                verify_twilio(config.auth_token, self._public_url(request), params,
                              request.headers.get(TWILIO_SIGNATURE_HEADER))  # fmt: skip
                return _Parsed(normalize_twilio(dict(params), received_at))
        except MalformedPayload as exc:
            raise errors.MalformedWebhook(exc.message, code=exc.code) from None
        raise NotFound(f"{provider.type.value} providers have no webhooks", code="webhooks_not_supported")

    async def _sns(self, config: SesProviderConfig, message: Any, received_at: datetime) -> _Parsed:
        if not isinstance(message, dict):
            raise errors.MalformedWebhook("an SNS message is a JSON object")
        await verify_sns(message, self.fetcher)
        topic = str(message.get("TopicArn", ""))
        kind = message.get("Type")
        if kind == SUBSCRIPTION_CONFIRMATION:
            if topic not in config.webhook_topic_arns:
                raise errors.topic_not_allowed(topic)
            url = message.get("SubscribeURL")
            if not sns_url_allowed(url, certificate=False):
                raise errors.invalid_signature("SubscribeURL is not an https URL on sns.<region>.amazonaws.com")
            try:
                await self.fetcher.confirm_subscription(str(url))
            except Exception as exc:  # the network, or SNS refusing: SNS will send the confirmation again
                log.warning("SNS subscription confirmation for %s failed: %r", topic, exc)
                raise Unavailable(
                    "the subscription could not be confirmed; retry", code="confirmation_failed"
                ) from None
            return _Parsed([], confirmed=True)
        if kind != NOTIFICATION:  # UnsubscribeConfirmation: nothing to do
            return _Parsed([])
        if topic not in config.webhook_topic_arns:
            raise errors.topic_not_allowed(topic)
        return _Parsed(normalize_ses(str(message.get("MessageId")), str(message.get("Message")), received_at))

    def _public_url(self, request: Request) -> str:
        """The URL the provider called, as the public sees it (settings.public_url, else api_host:api_port)."""
        base = self._context.settings.api_base_url.rstrip("/")
        query = request.url.query
        return f"{base}{request.url.path}" + (f"?{query}" if query else "")

    async def _store(
        self, provider: WebhookProvider, parsed: _Parsed, received_at: datetime, interest: Interest
    ) -> list[RecordedEvent]:
        try:
            return await self._store_once(provider, parsed, received_at, interest)
        except SQLAlchemyError as exc:  # e.g. a deadlock or a lost connection: nothing was committed
            log.warning("webhook for %s: storing failed, answering 503: %r", provider.id, exc)
            raise Unavailable("the events could not be stored; retry", code="storage_unavailable") from None

    async def _store_once(
        self, provider: WebhookProvider, parsed: _Parsed, received_at: datetime, interest: Interest
    ) -> list[RecordedEvent]:
        async with self._writing(), self._context.sessions() as session:
            if parsed.nonce is not None:
                signed_at = datetime.fromtimestamp(parsed.nonce.timestamp, UTC)
                keep = timedelta(seconds=TOKEN_KEEP_SECONDS)
                token, digest = parsed.nonce.token, parsed.body_digest
                if not await claim_nonce(session, provider.id, token, signed_at, body_digest=digest, keep=keep):
                    raise errors.replayed_request()
            recorded = await record_delivery_events(session, provider, parsed.events, received_at)
            await _withdraw_consent(session, provider, recorded)
            await resolve_reported(session, _reached_provider(recorded))
            queued = [e for e in _journey_events(provider, recorded) if interest.wants(e.name)]
            await enqueue(session, queued, received_at)
            await session.commit()
        return recorded

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        if self._write_lock is None:
            yield
            return
        async with self._write_lock:
            yield


def _journey_events(provider: WebhookProvider, recorded: list[RecordedEvent]) -> list[OutboxEvent]:
    """New events of messages sent to a contact, for that contact's journeys (through the outbox, committed with
    them); a duplicate was handed over when it was first stored."""
    return [
        OutboxEvent(
            provider.workspace_id,
            contact_id,
            r.signal_id,
            r.event.type.value,
            _properties(provider, r),
            r.event.occurred_at,
        )
        for r in recorded
        if r.new and r.message is not None and (contact_id := r.message.contact_id)
    ]


_WITHDRAWING = frozenset({EventType.UNSUBSCRIBED, EventType.COMPLAINED})


async def _withdraw_consent(session: AsyncSession, provider: WebhookProvider, recorded: list[RecordedEvent]) -> None:
    """A provider's unsubscribe or spam complaint withdraws the channel's consent (source provider_webhook), in
    the events' transaction; a duplicate report was applied with its first."""
    for r in recorded:
        if r.new and r.event.type in _WITHDRAWING and (r.event.recipient or r.message is not None):
            await consent_at_address(
                session, provider.workspace_id, channel=provider.channel.value, address=r.event.recipient or "",
                wanted=ConsentStatus.WITHDRAWN, source=ConsentSource.PROVIDER_WEBHOOK,
                contact_id=r.message.contact_id if r.message is not None else None,
                note=f"{provider.type.value} {r.event.type.value}",
            )  # fmt: skip


_REACHED = frozenset({EventType.DELIVERED, EventType.BOUNCED, EventType.OPENED})


def _reached_provider(recorded: list[RecordedEvent]) -> set[str]:
    """Uncertain messages this request proves the provider took (their status came with the event look-up, so
    only such a request costs the one UPDATE that resolves them)."""
    return {
        r.message.id
        for r in recorded
        if r.message is not None and r.message.status == UNCERTAIN and r.event.type in _REACHED
    }


def _properties(provider: WebhookProvider, recorded: RecordedEvent) -> dict[str, Any]:
    event, message = recorded.event, recorded.message
    values = {
        "message_id": message.id if message else None,
        "journey_id": message.journey_id if message else None,
        "step_id": message.step_id if message else None,
        "provider": provider.type.value,
        "provider_id": provider.id,
        "channel": provider.channel.value,
        "recipient": event.recipient,
        "url": event.url,
        "bounce_type": event.bounce_type.value if event.bounce_type else None,
        "reason": event.reason,
    }
    return {key: value for key, value in values.items() if value is not None}


def _form(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=bool(body), max_num_fields=1000)
    except (UnicodeDecodeError, ValueError):
        raise errors.MalformedWebhook("the body is not form-encoded", code="malformed_form") from None


async def read_body(request: Request) -> bytes:
    """The raw body, refused once over the limit (before any parsing)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"a webhook body is limited to {MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"a webhook body is limited to {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def webhook_service(context: AppContext) -> WebhookService:
    service = context.extras.get(_SERVICE_KEY)
    if not isinstance(service, WebhookService):
        service = context.extras[_SERVICE_KEY] = WebhookService(context)
    return service
