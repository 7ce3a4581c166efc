"""The contact's own recent events of one name, newest first: what a wait_for_event step with a lookback window
checks as it starts (activities/journeys/waits.py). Reads the event log by (workspace, contact) through the
ix_event_contact index; `where` filters are applied by the caller (domain.journeys.conditions)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.events import StoredEvent
from store.models import Event

MAX_LOOKBACK_EVENTS = 500  # the newest this many in the window are examined


async def recent_events(
    session: AsyncSession, workspace_id: str, contact_id: str, name: str, since: datetime, until: datetime
) -> list[StoredEvent]:
    """Events named `name` the contact did in [since, until] (by the event's own timestamp), newest first."""
    query = (
        select(Event)
        .where(
            col(Event.workspace_id) == workspace_id,
            col(Event.contact_id) == contact_id,
            col(Event.type) == "track",
            col(Event.name) == name,
            col(Event.timestamp) >= since,
            col(Event.timestamp) <= until,
        )
        .order_by(col(Event.timestamp).desc(), col(Event.id).desc())
        .limit(MAX_LOOKBACK_EVENTS)
    )
    rows = (await session.execute(query)).scalars()
    return [
        StoredEvent(row.id, row.message_id, row.type, row.name, row.contact_id, row.properties, row.timestamp)
        for row in rows
    ]
