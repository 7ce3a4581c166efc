"""The outbound webhook consumer: outbox rows -> deliveries for the endpoints subscribed to what they announce.

Set-based: per batch one look-up of the batch's workspaces' subscriptions (cached 2 s per workspace, dropped when a
workspace's endpoints change), one of the contacts whose rows announce contact.*, and one multi-row insert.
Idempotent: a delivery's id is derived from (endpoint, source row), so a batch consumed twice (a dispatcher killed
after this ran) queues nothing new. Then one signal-with-start wakes the delivery workflow."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from domain.access.fields import FieldPolicy, apply_read
from domain.clock import utcnow
from domain.outbound_webhooks.events import WebhookEventType, event_type_of
from domain.outbound_webhooks.payloads import body_of, data_of
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from mauntic.ttl_cache import TtlCache
from mauntic.webhook_wake import wake_deliveries
from store import webhook_deliveries
from store.field_policies import FieldPolicies
from store.models import Contact
from store.outbox import OutboxRow
from store.webhook_deliveries import NewDelivery
from store.webhook_endpoints import Subscription, subscriptions

_CONTACT_TYPES = (WebhookEventType.CONTACT_CREATED, WebhookEventType.CONTACT_UPDATED)


def contact_snapshot(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id, "external_id": contact.external_id, "email": contact.email, "phone": contact.phone,
        "first_name": contact.first_name, "last_name": contact.last_name, "timezone": contact.timezone,
        "attributes": contact.attributes, "created_at": contact.created_at.isoformat(),
        "updated_at": contact.updated_at.isoformat(),
    }  # fmt: skip


def source_id(row: OutboxRow) -> str:
    e = row.event
    return f"{e.kind}:{e.event_id}:{e.contact_id}:{e.name}"


class WebhookConsumer:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: Settings, temporal: TemporalGateway
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._temporal = temporal
        self._subs: TtlCache[str, list[Subscription]] = TtlCache(2.0)
        self._policies = FieldPolicies()  # an endpoint's role's field policy, read and cached as the API does

    def forget(self, workspace_id: str) -> None:
        self._subs.forget(workspace_id)

    async def _subscriptions(self, session: AsyncSession, workspace_id: str) -> list[Subscription]:
        async def load() -> list[Subscription]:
            return await subscriptions(session, [workspace_id])

        return await self._subs.get(workspace_id, load)

    async def consume(self, rows: Sequence[OutboxRow]) -> None:
        typed = [(row, t) for row in rows if (t := event_type_of(row.event.kind, row.event.name)) is not None]
        if not typed:
            return
        async with self._sessions() as session:
            subs = {ws: await self._subscriptions(session, ws) for ws in {row.event.workspace_id for row, _ in typed}}
            wanted = [(row, t, s) for row, t in typed for s in subs[row.event.workspace_id] if t.value in s.event_types]
            if not wanted:
                return
            contacts = await self._contacts(
                session, {row.event.contact_id for row, t, _ in wanted if t in _CONTACT_TYPES}
            )
            policies: dict[tuple[str, str | None], FieldPolicy] = {
                (s.workspace_id, s.role): await self._policies.of(session, s.workspace_id, s.role)
                for _, t, s in wanted
                if s.role is not None and t in _CONTACT_TYPES
            }
            new = [self._delivery(row, t, s, contacts, policies) for row, t, s in wanted]
            await webhook_deliveries.queue(session, new, utcnow(), self._settings.webhook_max_attempts)
            await session.commit()
        # woken even when every delivery was already queued: a batch retried after a failed wake must wake it
        await wake_deliveries(self._temporal, self._settings, f"{len(new)} deliveries")

    async def _contacts(self, session: AsyncSession, ids: set[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        found: dict[str, dict[str, Any]] = {}
        listed = list(ids)
        for start in range(0, len(listed), 500):
            result = await session.execute(select(Contact).where(col(Contact.id).in_(listed[start : start + 500])))
            found.update({c.id: contact_snapshot(c) for c in result.scalars()})
        return found

    @staticmethod
    def _delivery(
        row: OutboxRow,
        event_type: WebhookEventType,
        sub: Subscription,
        contacts: dict[str, dict[str, Any]],
        policies: dict[tuple[str, str | None], FieldPolicy],
    ) -> NewDelivery:
        e = row.event
        contact = contacts.get(e.contact_id)
        policy = policies.get((sub.workspace_id, sub.role))
        if contact is not None and policy is not None:
            contact = apply_read(policy, contact)  # hidden fields absent, masked ones masked
        data = data_of(
            event_type, workspace_id=e.workspace_id, contact_id=e.contact_id, event_id=e.event_id, name=e.name,
            properties=e.properties, contact=contact,
        )  # fmt: skip
        return NewDelivery(
            e.workspace_id, sub.endpoint_id, event_type.value, source_id(row), body_of(event_type, e.occurred_at, data)
        )
