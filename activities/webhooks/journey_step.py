"""The journey webhook step's activities: find the step's endpoint, render its body for the contact, and either
queue a delivery on the durable delivery path (fire-and-forget) or make the signed request once (waited).

The endpoint is the workspace's registered one, named by `endpoint_id` or found by its `url`; the request is signed
with its secret(s) exactly as deliveries are (Standard Webhooks, domain/outbound_webhooks/signing.py), over the
shared delivery client (no redirects; every address the host resolves to is checked). A waited call's `webhook-id`
is the step's idempotency key: an attempt Temporal retries (a worker lost mid-request) carries the same id, and the
receiver dedupes it. An endpoint deleted or disabled since publishing is an `error` answer, not a failed journey.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.journeys.versions import JourneyVersions
from activities.webhooks.contracts import (
    CALL_JOURNEY_WEBHOOK,
    QUEUE_JOURNEY_WEBHOOK,
    CallJourneyWebhookOutput,
    JourneyWebhookInput,
    QueueJourneyWebhookOutput,
)
from activities.webhooks.delivery import UNSIGNABLE
from activities.webhooks.transport import REFUSED
from domain.clock import utcnow
from domain.content.templates import TemplateError, render_text
from domain.delivery.email import contact_context
from domain.journeys.steps.webhook import WebhookStep, status_class
from domain.outbound_webhooks.signing import signed_headers
from mauntic.secrets import SecretBox, SecretDecryptionError
from store import webhook_deliveries
from store.contacts import company_fields, contact_fields
from store.models import Contact
from store.models_webhooks import WebhookEndpoint
from store.webhook_deliveries import NewDelivery

EVENT_TYPE = "journey.webhook"  # the delivery log's event type of a step's deliveries, and the default body's type
Wake = Callable[[str], Awaitable[None]]


class BodyError(Exception):
    pass


def _render_value(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return render_text(value, context)
    if isinstance(value, dict):
        return {key: _render_value(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [_render_value(item, context) for item in value]
    return value


def render_body(step: WebhookStep, context: dict[str, Any], request: JourneyWebhookInput) -> bytes:
    """The JSON body: the step's object with its strings rendered, its template rendered (it must be JSON), or by
    default the journey, step and contact in Standard Webhooks' shape."""
    try:
        if step.body is None:
            data = {
                "workspace_id": request.workspace_id, "journey_id": request.journey_id, "version": request.version,
                "step_id": request.step_id, "contact_id": request.contact_id, "contact": context["contact"],
            }  # fmt: skip
            payload: Any = {"type": EVENT_TYPE, "timestamp": utcnow().isoformat(), "data": data}
        elif isinstance(step.body, str):
            rendered = render_text(step.body, context)
            try:
                payload = json.loads(rendered)
            except ValueError as exc:
                raise BodyError(f"the rendered body is not JSON: {exc}") from None
        else:
            payload = _render_value(step.body, context)
    except TemplateError as exc:
        raise BodyError(f"body: {exc}") from exc
    return json.dumps(payload, separators=(",", ":"), default=str, ensure_ascii=False).encode()


class JourneyWebhookActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        versions: JourneyVersions,
        http: httpx.AsyncClient,
        box: SecretBox,
        wake: Wake,
        *,
        max_attempts: int = 8,
    ) -> None:
        self._sessions = sessions
        self._versions = versions
        self._http = http
        self._box = box
        self._wake = wake
        self._max_attempts = max_attempts

    async def _prepare(
        self, session: AsyncSession, request: JourneyWebhookInput
    ) -> tuple[WebhookStep, WebhookEndpoint | None, dict[str, Any]]:
        definition = await self._versions.get(session, request.workspace_id, request.journey_id, request.version)
        step = definition.step(request.step_id)
        if not isinstance(step, WebhookStep):
            raise ApplicationError(f"step {request.step_id} is not a webhook step", non_retryable=True)
        endpoint = await self._endpoint(session, request.workspace_id, step)
        contact = await session.get(Contact, request.contact_id)
        if contact is not None and contact.workspace_id != request.workspace_id:
            contact = None
        company = await company_fields(session, contact) if contact is not None else None
        context = contact_context(contact_fields(contact) if contact is not None else {}, company)
        context["journey"] = {"id": request.journey_id, "version": request.version, "step_id": request.step_id}
        return step, endpoint, context

    @staticmethod
    async def _endpoint(session: AsyncSession, workspace_id: str, step: WebhookStep) -> WebhookEndpoint | None:
        e = WebhookEndpoint
        query = select(e).where(col(e.workspace_id) == workspace_id, col(e.enabled).is_(True))
        if step.endpoint_id is not None:
            query = query.where(col(e.id) == step.endpoint_id)
        else:
            query = query.where(col(e.url) == step.url).order_by(col(e.id))
        return (await session.execute(query.limit(1))).scalars().first()

    @staticmethod
    def _missing(step: WebhookStep) -> str:
        named = f"endpoint {step.endpoint_id}" if step.endpoint_id else f"an endpoint with url {step.url}"
        return f"the workspace has no enabled {named}"

    @activity.defn(name=QUEUE_JOURNEY_WEBHOOK)
    async def queue(self, request: JourneyWebhookInput) -> QueueJourneyWebhookOutput:
        async with self._sessions() as session:
            step, endpoint, context = await self._prepare(session, request)
            if endpoint is None:
                return QueueJourneyWebhookOutput(queued=False, reason=self._missing(step))
            try:
                body = render_body(step, context, request)
            except BodyError as exc:
                return QueueJourneyWebhookOutput(queued=False, endpoint_id=endpoint.id, reason=str(exc))
            new = NewDelivery(request.workspace_id, endpoint.id, EVENT_TYPE, request.idempotency_key, body.decode())
            await webhook_deliveries.queue(session, [new], utcnow(), self._max_attempts)
            await session.commit()
        # woken even when the row was queued by an earlier attempt: that attempt may have failed to wake it
        await self._wake(f"journey webhook {request.step_id}")
        delivery_id = webhook_deliveries.delivery_id(endpoint.id, request.idempotency_key)
        return QueueJourneyWebhookOutput(queued=True, delivery_id=delivery_id, endpoint_id=endpoint.id)

    @activity.defn(name=CALL_JOURNEY_WEBHOOK)
    async def call(self, request: JourneyWebhookInput) -> CallJourneyWebhookOutput:
        async with self._sessions() as session:
            step, endpoint, context = await self._prepare(session, request)
        if endpoint is None:
            return CallJourneyWebhookOutput(status_class="error", error=self._missing(step))
        try:
            body = render_body(step, context, request)
            headers = {name: render_text(value, context) for name, value in step.headers.items()}
        except (BodyError, TemplateError) as exc:
            return CallJourneyWebhookOutput(status_class="error", endpoint_id=endpoint.id, error=str(exc))
        try:
            keys = [self._box.decrypt(endpoint.secret_encrypted)]
            previous = endpoint.previous_secret_encrypted
            expires = endpoint.previous_secret_expires_at
            if previous and expires and expires > utcnow():
                keys.append(self._box.decrypt(previous))
        except SecretDecryptionError:
            return CallJourneyWebhookOutput(status_class="error", endpoint_id=endpoint.id, error=UNSIGNABLE)
        content = b"" if step.method == "GET" else body
        signed = signed_headers(keys, request.idempotency_key, int(time.time()), content)
        seconds = step.timeout.total_seconds()
        began = time.perf_counter()
        code: int | None = None
        error: str | None = None
        timed_out = False
        try:
            response = await self._http.request(
                step.method, endpoint.url, content=content, headers={**headers, **signed},
                timeout=httpx.Timeout(seconds, connect=min(5.0, seconds)),
            )  # fmt: skip
            code = response.status_code
        except httpx.TimeoutException:
            timed_out = True
            error = f"no answer within {seconds:g} s"
        except httpx.ConnectError as exc:
            error = REFUSED if str(exc) == REFUSED else f"ConnectError: {exc}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        latency = (time.perf_counter() - began) * 1000
        return CallJourneyWebhookOutput(
            status_class=status_class(code, timed_out=timed_out), status_code=code, latency_ms=latency,
            endpoint_id=endpoint.id, error=error,
        )  # fmt: skip

    def all(self) -> list[Callable[..., Awaitable[Any]]]:
        return [self.queue, self.call]
