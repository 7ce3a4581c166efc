"""A journey's write to a contact (the update_contact step): the contact write path of identify and PATCH.

Set values go through `apply_traits` as identify traits do (reserved names to the contact's columns, the rest to
its attributes); unset names leave the attributes (or clear first_name, last_name, timezone); a `contact` outbox
row named `updated` carries the changed names, so segments, scoring, outbound webhooks and journeys (goals and exit
criteria on attributes) hear of it as of any other change. One transaction with the step's effect row: a retry of
the same idempotency key finds the row and changes nothing.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.contacts.traits import trait_column
from domain.events.interest import OutboxKind
from domain.identity.identifiers import KEYED
from store.audit_hook import data_plane
from store.contacts import apply_traits
from store.identity_keys import stamp_keys
from store.identity_policy import merge_policy
from store.models import Contact
from store.models_journey_steps import JourneyStepEffect
from store.outbox import OutboxEvent, enqueue


def effect_event_id(idempotency_key: str) -> str:
    """The outbox event id of a step's change: one per key, within the outbox's 80 characters."""
    return "jsx_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]


async def locked_contact(session: AsyncSession, workspace_id: str, contact_id: str) -> Contact | None:
    """The contact, its row locked until the transaction ends on PostgreSQL (a concurrent identify or PATCH
    waits rather than writing attributes from a copy older than ours); SQLite has one writer anyway."""
    found = await session.execute(
        select(Contact)
        .where(col(Contact.id) == contact_id, col(Contact.workspace_id) == workspace_id)
        .with_for_update()
    )
    return found.scalar_one_or_none()


async def recorded_effect(session: AsyncSession, idempotency_key: str) -> JourneyStepEffect | None:
    return await session.get(JourneyStepEffect, idempotency_key)


async def update_contact(
    session: AsyncSession,
    contact: Contact,
    idempotency_key: str,
    values: dict[str, Any],
    unset: list[str],
    now: datetime,
) -> dict[str, Any]:
    """Write the values (rendered already) and removals, the effect row and the outbox row; the caller commits
    (a concurrent attempt of the same key fails on the effect's primary key). Returns what changed. Data plane for
    the audit log: a journey's per-contact writes are recorded by their effect row, not one chain entry each."""
    data_plane(session)
    if values:
        apply_traits(contact, values)
        written = {column for name in values if (column := trait_column(name)) in KEYED}
        if written:  # a unique email or phone another contact holds fails at the flush (IntegrityError)
            stamp_keys(contact, (await merge_policy(session, contact.workspace_id)).unique, written)
    attributes = dict(contact.attributes)
    for name in unset:
        column = trait_column(name)
        if column is not None and column not in ("email", "phone"):
            setattr(contact, column, None)
        attributes.pop(name, None)
    contact.attributes = attributes
    contact.updated_at = now
    changed: dict[str, Any] = {**values, **dict.fromkeys(unset)}
    session.add(contact)
    session.add(
        JourneyStepEffect(
            idempotency_key=idempotency_key,
            workspace_id=contact.workspace_id,
            contact_id=contact.id,
            kind="update_contact",
            result={"changed": changed},
            created_at=now,
        )
    )
    row = OutboxEvent(
        contact.workspace_id, contact.id, effect_event_id(idempotency_key), "updated", changed, now, OutboxKind.CONTACT
    )
    await enqueue(session, [row], now)
    await session.flush()
    return changed
