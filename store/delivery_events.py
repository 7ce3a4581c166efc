"""Storing normalized provider events, once each, and their effects on the suppression list.

One request's events go in with one INSERT .. ON CONFLICT (provider_id, provider_event_id) DO NOTHING RETURNING,
after one look-up of the message logs they are about; the unique constraint de-duplicates provider retries, and
only the rows that were new add suppressions (hard bounces, complaints, unsubscribes).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.ids import new_id
from domain.webhooks.model import NormalizedEvent
from store.models import DeliveryEvent, MessageLog
from store.queries import insert_ignoring
from store.suppressions import NewSuppression, suppress
from store.webhook_providers import WebhookProvider

_CHUNK = 500  # rows per INSERT (17 columns: well under SQLite's 32,766 bound parameters)

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9]{6,15}")


@dataclass(frozen=True)
class MessageRef:
    id: str
    contact_id: str | None
    journey_id: str | None
    step_id: str | None
    to_address: str
    status: str | None = None  # the message's status when the event arrived


@dataclass(frozen=True)
class RecordedEvent:
    event: NormalizedEvent
    new: bool  # False: a duplicate of an event stored earlier (its effects were applied then)
    signal_id: str  # the same for every report of this provider event, so journeys see it once
    message: MessageRef | None


def signal_id(provider_id: str, provider_event_id: str) -> str:
    digest = hashlib.sha256(f"{provider_id}\x00{provider_event_id}".encode()).hexdigest()
    return f"dlv_{digest[:32]}"


async def record_delivery_events(
    session: AsyncSession, provider: WebhookProvider, events: Iterable[NormalizedEvent], received_at: datetime
) -> list[RecordedEvent]:
    """Store the events (the caller commits); returns each distinct event, saying whether it was new."""
    unique: dict[str, NormalizedEvent] = {}
    for event in events:
        unique.setdefault(event.provider_event_id, event)
    if not unique:
        return []
    messages = await _messages(session, provider.workspace_id, unique.values())
    refs = {key: _ref_for(event, messages) for key, event in unique.items()}
    # In key order, so concurrent requests with overlapping events lock rows in the same order (no deadlock).
    rows = [_row(provider, unique[key], refs[key], received_at) for key in sorted(unique)]
    inserted: set[str] = set()
    for start in range(0, len(rows), _CHUNK):
        inserted.update(await _insert(session, rows[start : start + _CHUNK]))
    await suppress(
        session,
        provider.workspace_id,
        [
            NewSuppression(provider.channel.value, address, event.suppression_reason, f"{provider.type}:{key}"[:255])
            for key, event in sorted(unique.items())
            if key in inserted and event.suppresses and (address := _address(event, refs[key], provider.channel.value))
        ],
    )
    return [
        RecordedEvent(event, key in inserted, signal_id(provider.id, key), refs[key]) for key, event in unique.items()
    ]


def _address(event: NormalizedEvent, ref: MessageRef | None, channel: str) -> str | None:
    """Whom to suppress: the event's recipient, else the message's; only something shaped like an address of
    the channel (an email address, a phone number), never whatever text a payload carried."""
    address = event.recipient or (ref.to_address if ref and ref.to_address else None)
    if address is None:
        return None
    pattern = _EMAIL if channel == "email" else _PHONE
    return address if pattern.fullmatch(address.strip()) else None


async def _messages(
    session: AsyncSession, workspace_id: str, events: Iterable[NormalizedEvent]
) -> dict[str, MessageRef]:
    """Message logs by id and by provider message id (also in its <bracketed> form), in one query."""
    log_ids: set[str] = set()
    provider_ids: set[str] = set()
    for event in events:
        if event.message_log_id:
            log_ids.add(event.message_log_id)
        if event.provider_message_id:
            provider_ids.update((event.provider_message_id, f"<{event.provider_message_id}>"))
    if not log_ids and not provider_ids:
        return {}
    wanted = []
    if log_ids:
        wanted.append(col(MessageLog.id).in_(log_ids))
    if provider_ids:
        wanted.append(col(MessageLog.provider_message_id).in_(provider_ids))
    columns = [
        col(MessageLog.id),
        col(MessageLog.contact_id),
        col(MessageLog.journey_id),
        col(MessageLog.step_id),
        col(MessageLog.to_address),
        col(MessageLog.provider_message_id),
        col(MessageLog.status),
    ]
    result = await session.execute(select(*columns).where(col(MessageLog.workspace_id) == workspace_id, or_(*wanted)))
    found: dict[str, MessageRef] = {}
    for row in result.all():
        log_id, contact_id, journey_id, step_id, to_address, provider_message_id, status = tuple(row)
        ref = MessageRef(log_id, contact_id, journey_id, step_id, to_address, status)
        found[f"id:{log_id}"] = ref
        if provider_message_id:
            found[f"pm:{provider_message_id.strip('<>')}"] = ref
    return found


def _ref_for(event: NormalizedEvent, messages: dict[str, MessageRef]) -> MessageRef | None:
    if event.message_log_id and (ref := messages.get(f"id:{event.message_log_id}")):
        return ref
    return messages.get(f"pm:{event.provider_message_id}") if event.provider_message_id else None


def _row(
    provider: WebhookProvider, event: NormalizedEvent, ref: MessageRef | None, received_at: datetime
) -> dict[str, Any]:
    return {
        "id": new_id("dev"),
        "workspace_id": provider.workspace_id,
        "provider_id": provider.id,
        "provider_event_id": event.provider_event_id,
        "type": event.type.value,
        "channel": provider.channel.value,
        "recipient": event.recipient,
        "provider_message_id": event.provider_message_id,
        "message_log_id": ref.id if ref else None,
        "contact_id": ref.contact_id if ref else None,
        "bounce_type": event.bounce_type.value if event.bounce_type else None,
        "reason": event.reason,
        "url": event.url,
        "raw_type": event.raw_type,
        "occurred_at": event.occurred_at,
        "received_at": received_at,
    }


async def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> set[str]:
    table: Any = DeliveryEvent.__table__  # type: ignore[attr-defined]
    statement = insert_ignoring(session.get_bind().dialect.name, table, "provider_id", "provider_event_id").returning(
        table.c.provider_event_id
    )
    # executemany: SQLAlchemy batches the rows into multi-row INSERTs ("insertmanyvalues") from one cached
    # compiled statement; a multi-row .values() would be compiled afresh for every request.
    result = await session.execute(statement, rows)
    return {row[0] for row in result.all()}
