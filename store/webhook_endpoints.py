"""Outbound webhook endpoints: the rows, the subscriptions the dispatcher consumer reads, and the interest they
add to the dispatch outbox."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.events.interest import Interest
from domain.outbound_webhooks.events import interest_of
from store.models_webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from store.queries import workspace_page


@dataclass(frozen=True, slots=True)
class Subscription:
    endpoint_id: str
    workspace_id: str
    event_types: frozenset[str]


async def get_endpoint(session: AsyncSession, workspace_id: str, endpoint_id: str) -> WebhookEndpoint | None:
    row = await session.get(WebhookEndpoint, endpoint_id)
    return row if row is not None and row.workspace_id == workspace_id else None


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
        select(col(e.id), col(e.workspace_id), col(e.event_types)).where(
            col(e.workspace_id).in_(ids), col(e.enabled).is_(True)
        )
    )
    return [Subscription(row.id, row.workspace_id, frozenset(row.event_types)) for row in result]


async def webhook_interest(session: AsyncSession, workspace_id: str) -> Interest:
    """What the workspace's enabled endpoints need queued: provider events they are subscribed to, contact
    changes when any endpoint takes contact.created or contact.updated."""
    return interest_of(set(await subscribed_types(session, workspace_id)))


async def subscribed_types(session: AsyncSession, workspace_id: str) -> frozenset[str]:
    subscribed: set[str] = set()
    for sub in await subscriptions(session, [workspace_id]):
        subscribed |= sub.event_types
    return frozenset(subscribed)
