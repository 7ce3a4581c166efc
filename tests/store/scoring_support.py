"""Seeding contacts and events straight into the tables, for scoring tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import utcnow
from domain.ids import new_id
from store.models import Contact, Event
from store.scoring_apply import CONTACTS
from store.scoring_sql import EVENT


async def add_contacts(session: AsyncSession, workspace_id: str, n: int, prefix: str = "c") -> list[str]:
    ids = [f"{prefix}{i:05d}_{new_id('x')[-6:]}" for i in range(n)]
    now = utcnow()
    await session.execute(
        insert(CONTACTS),
        [{"id": i, "workspace_id": workspace_id, "attributes": {}, "created_at": now, "updated_at": now} for i in ids],
    )
    return ids


async def add_events(
    session: AsyncSession, workspace_id: str, rows: list[tuple[str, str, dict[str, Any], datetime]]
) -> list[str]:
    """(contact, name, properties, timestamp) -> event ids."""
    ids = [new_id("ev") for _ in rows]
    await session.execute(
        insert(EVENT),
        [
            {
                "id": eid,
                "workspace_id": workspace_id,
                "message_id": eid,
                "type": "track",
                "name": name,
                "contact_id": contact,
                "properties": props,
                "context": {},
                "timestamp": ts,
                "received_at": ts,
            }
            for eid, (contact, name, props, ts) in zip(ids, rows, strict=True)
        ],
    )
    return ids


__all__ = ["Contact", "Event", "add_contacts", "add_events"]
