"""Outbound webhook endpoints: the rows, the subscriptions the dispatcher consumer reads, and the interest they
add to the dispatch outbox."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from domain.events.interest import Interest
from domain.outbound_webhooks.events import WebhookEventType, interest_of
from mauntic.ttl_cache import TtlCache
from store.models_webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from store.queries import workspace_page


@dataclass(frozen=True, slots=True)
class Subscription:
    endpoint_id: str
    workspace_id: str
    event_types: frozenset[str]
    role: str | None = None  # contact payloads are read under this role's field policy


async def get_endpoint(session: AsyncSession, workspace_id: str, endpoint_id: str) -> WebhookEndpoint | None:
    row = await session.get(WebhookEndpoint, endpoint_id)
    return row if row is not None and row.workspace_id == workspace_id else None


async def endpoint_exists(session: AsyncSession, workspace_id: str, value: str, *, by_url: bool) -> bool:
    """Whether the workspace has an endpoint with this id (or, `by_url`, this URL)."""
    e = WebhookEndpoint
    match = col(e.url) == value if by_url else col(e.id) == value
    found = await session.execute(select(col(e.id)).where(col(e.workspace_id) == workspace_id, match).limit(1))
    return found.first() is not None


async def list_endpoints(
    session: AsyncSession, workspace_id: str, *, after: str | None, limit: int
) -> list[WebhookEndpoint]:
    return await workspace_page(session, WebhookEndpoint, workspace_id, after=after, limit=limit)


async def delete_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    """The endpoint with its deliveries and their attempts; the caller commits."""
    ids = select(col(WebhookDelivery.id)).where(col(WebhookDelivery.endpoint_id) == endpoint.id)
    await session.execute(delete(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(ids)))
    await session.execute(delete(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint.id))
    await session.delete(endpoint)


async def subscriptions(session: AsyncSession, workspace_ids: Iterable[str]) -> list[Subscription]:
    """The enabled endpoints of these workspaces and what each is subscribed to."""
    ids = list(set(workspace_ids))
    if not ids:
        return []
    e = WebhookEndpoint
    result = await session.execute(
        select(col(e.id), col(e.workspace_id), col(e.event_types), col(e.role)).where(
            col(e.workspace_id).in_(ids), col(e.enabled).is_(True)
        )
    )
    return [Subscription(row.id, row.workspace_id, frozenset(row.event_types), row.role) for row in result]


async def webhook_interest(session: AsyncSession, workspace_id: str) -> Interest:
    """What the workspace's enabled endpoints need queued: provider events they are subscribed to, contact
    changes when any endpoint takes contact.created or contact.updated."""
    return interest_of(set(await subscribed_types(session, workspace_id)))


async def subscribed_types(session: AsyncSession, workspace_id: str) -> frozenset[str]:
    subscribed: set[str] = set()
    for sub in await subscriptions(session, [workspace_id]):
        subscribed |= sub.event_types
    return frozenset(subscribed)


class SubscribedTypes:
    """Which types a workspace's enabled endpoints take, cached a few seconds per workspace: the check producers
    make before writing an outbox row only a subscriber wants (message.sent, journey.entered, journey.completed).
    A workspace without endpoints costs one small indexed read per `seconds`, then dictionary look-ups."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], seconds: float = 2.0) -> None:
        self._sessions = sessions
        self._cache: TtlCache[str, frozenset[str]] = TtlCache(seconds)

    def forget(self, workspace_id: str) -> None:
        self._cache.forget(workspace_id)

    async def of(self, workspace_id: str) -> frozenset[str]:
        async def load() -> frozenset[str]:
            async with self._sessions() as session:
                return await subscribed_types(session, workspace_id)

        return await self._cache.get(workspace_id, load)

    async def wants(self, workspace_id: str, event_type: WebhookEventType) -> bool:
        return event_type.value in await self.of(workspace_id)
