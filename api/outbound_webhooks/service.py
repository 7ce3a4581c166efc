"""Endpoints (create, change, delete, rotate the secret), their deliveries and redelivery.

An endpoint's URL is checked when it is saved by the same rule as providers' URLs (https, no private or local
host, unless MAUNTIC_PROVIDER_PRIVATE_NETWORKS), and the name is resolved once: a name that resolves to a private
address now is refused now. Delivery checks every resolved address again (activities/webhooks/transport.py).
Every change of what a workspace subscribes to drops the cached interest (this replica) and tells dispatchers."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.exceptions import TemporalError

from api.dispatch_interest import DispatchInterest
from api.errors import NotFound, Unavailable, Unprocessable
from api.schemas.webhook_endpoints import EndpointCreate, EndpointUpdate
from domain.clock import utcnow
from domain.ids import new_id
from domain.outbound_webhooks.events import NOT_YET_EMITTED, WebhookEventType
from domain.outbound_webhooks.signing import new_secret
from domain.outbound_webhooks.targets import address_allowed, url_problem
from mauntic.secrets import SecretBox
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from mauntic.webhook_wake import wake_deliveries
from store import webhook_deliveries, webhook_endpoints
from store.models_webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from store.outbox_wake import DispatchWaker

_RESOLVE_SECONDS = 2.0


class WebhookEndpointService:
    def __init__(
        self,
        settings: Settings,
        box: SecretBox,
        interest: DispatchInterest,
        waker: DispatchWaker,
        temporal: TemporalGateway,
    ) -> None:
        self._settings = settings
        self._box = box
        self._interest = interest
        self._waker = waker
        self._temporal = temporal

    async def _check_url(self, url: str) -> None:
        allowed = self._settings.provider_private_networks
        problem = url_problem(url, private_networks_allowed=allowed)
        if problem is None and not allowed:
            problem = await _resolves_private(url)
        if problem is not None:
            code, message = problem
            hint = "" if code == "invalid_endpoint_url" else " (MAUNTIC_PROVIDER_PRIVATE_NETWORKS=true allows it)"
            raise Unprocessable(
                f"url: {message}{hint}", code=code, details={"errors": [{"field": "url", "message": message}]}
            )

    @staticmethod
    def _check_types(types: list[WebhookEventType]) -> None:
        pending = sorted(t.value for t in types if t in NOT_YET_EMITTED)
        if pending:
            message = f"{', '.join(pending)}: not emitted yet by this version; subscribe to the others"
            raise Unprocessable(
                f"event_types: {message}", code="event_type_not_available",
                details={"errors": [{"field": "event_types", "message": message}]},
            )  # fmt: skip

    async def _changed(self, session: AsyncSession, workspace_id: str) -> None:
        self._interest.forget(workspace_id)
        await self._waker.workspace_changed(session, workspace_id)

    async def create(
        self, session: AsyncSession, workspace_id: str, body: EndpointCreate, role: str | None = None
    ) -> tuple[WebhookEndpoint, str]:
        """`role`: the creating key's; the endpoint's contact payloads are read under its field policy."""
        self._check_types(body.event_types)
        await self._check_url(body.url)
        secret = new_secret()
        row = WebhookEndpoint(
            id=new_id("whep"), workspace_id=workspace_id, url=body.url, description=body.description,
            event_types=sorted({t.value for t in body.event_types}), enabled=body.enabled,
            secret_encrypted=self._box.encrypt(secret), role=role,
        )  # fmt: skip
        session.add(row)
        await session.commit()
        await session.refresh(row)
        await self._changed(session, workspace_id)
        return row, secret

    async def get(self, session: AsyncSession, workspace_id: str, endpoint_id: str) -> WebhookEndpoint:
        row = await webhook_endpoints.get_endpoint(session, workspace_id, endpoint_id)
        if row is None:
            raise NotFound(f"no webhook endpoint {endpoint_id}", code="webhook_endpoint_not_found")
        return row

    async def page(
        self, session: AsyncSession, workspace_id: str, after: str | None, limit: int
    ) -> list[WebhookEndpoint]:
        return await webhook_endpoints.list_endpoints(session, workspace_id, after=after, limit=limit)

    async def update(
        self, session: AsyncSession, workspace_id: str, endpoint_id: str, body: EndpointUpdate
    ) -> WebhookEndpoint:
        row = await self.get(session, workspace_id, endpoint_id)
        if body.url is not None:
            await self._check_url(body.url)
            row.url = body.url
        if body.event_types is not None:
            self._check_types(body.event_types)
            row.event_types = sorted({t.value for t in body.event_types})
        if body.description is not None:
            row.description = body.description
        if body.enabled is not None:
            row.enabled = body.enabled
        row.updated_at = utcnow()
        session.add(row)
        await session.commit()
        await session.refresh(row)
        await self._changed(session, workspace_id)
        if row.enabled:
            await self._wake("endpoint changed", required=False)
        return row

    async def delete(self, session: AsyncSession, workspace_id: str, endpoint_id: str) -> None:
        row = await self.get(session, workspace_id, endpoint_id)
        await webhook_endpoints.delete_endpoint(session, row)
        await session.commit()
        await self._changed(session, workspace_id)

    async def rotate(self, session: AsyncSession, workspace_id: str, endpoint_id: str) -> tuple[WebhookEndpoint, str]:
        """A new secret signs from now on; the replaced one signs too (a second signature) for the overlap, so
        receivers can switch without losing a delivery."""
        row = await self.get(session, workspace_id, endpoint_id)
        secret = new_secret()
        now = utcnow()
        row.previous_secret_encrypted = row.secret_encrypted
        row.previous_secret_expires_at = now + timedelta(hours=self._settings.webhook_secret_overlap_hours)
        row.secret_encrypted = self._box.encrypt(secret)
        row.updated_at = now
        session.add(row)
        await session.commit()
        await session.refresh(row)
        return row, secret

    async def deliveries(
        self,
        session: AsyncSession,
        workspace_id: str,
        endpoint_id: str,
        status: str | None,
        after: str | None,
        limit: int,
    ) -> list[WebhookDelivery]:
        await self.get(session, workspace_id, endpoint_id)
        return await webhook_deliveries.list_deliveries(session, endpoint_id, status=status, after=after, limit=limit)

    async def delivery(
        self, session: AsyncSession, workspace_id: str, endpoint_id: str, delivery_id: str
    ) -> tuple[WebhookDelivery, list[WebhookAttempt]]:
        row = await webhook_deliveries.get_delivery(session, workspace_id, delivery_id)
        if row is None or row.endpoint_id != endpoint_id:
            raise NotFound(f"no delivery {delivery_id} of endpoint {endpoint_id}", code="webhook_delivery_not_found")
        return row, await webhook_deliveries.list_attempts(session, delivery_id)

    async def redeliver(
        self, session: AsyncSession, workspace_id: str, endpoint_id: str, delivery_id: str
    ) -> WebhookDelivery:
        """Send it again with the same webhook-id and body (a fresh set of attempts), delivered or not."""
        row, _ = await self.delivery(session, workspace_id, endpoint_id, delivery_id)
        await webhook_deliveries.redeliver(session, row.id, utcnow(), if_delivered=True)
        await session.commit()
        await session.refresh(row)
        await self._wake(f"redeliver {row.id}", required=True)
        return row

    async def _wake(self, reason: str, *, required: bool) -> None:
        try:
            await wake_deliveries(self._temporal, self._settings, reason)
        except (TemporalError, RuntimeError, OSError) as exc:
            if required:
                raise Unavailable(
                    "the redelivery is recorded; it goes out when the workers reach Temporal again",
                    code="temporal_unavailable",
                ) from exc


async def _resolves_private(url: str) -> tuple[str, str] | None:
    """Refuse a name that resolves to a private address now. A name that does not resolve is accepted (it may
    be published later); every delivery checks the addresses again."""
    host = urlsplit(url).hostname or ""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, 443, type=socket.SOCK_STREAM), _RESOLVE_SECONDS)
    except (OSError, TimeoutError):
        return None
    if any(not address_allowed(str(info[4][0]), private_networks_allowed=False) for info in infos):
        return "private_endpoint_host", "url resolves to a private or local address"
    return None
