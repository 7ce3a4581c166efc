"""The intent trigger's incremental count (store/models_journeys.py JourneyIntent): each matching event adds one
hit per (journey, contact) and drops the hits older than the window; the event that brings the count to the
trigger's `count` starts the journey, and the hits start over. No event history is re-read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from domain.journeys.triggers import IntentTrigger
from store.models_journeys import JourneyIntent
from store.outbox import OutboxEvent

MAX_SEEN = 50


def _hit_time(hit: list[str]) -> datetime:
    return datetime.fromisoformat(hit[1])


async def count_intents(
    session: AsyncSession,
    workspace_id: str,
    intents: dict[str, IntentTrigger],
    events: Sequence[OutboxEvent],
) -> set[tuple[str, str]]:
    """Count the events (in order) toward each journey's intent; the (journey id, event id) pairs that complete
    a pattern. The caller commits (with the enrollments the completed patterns lead to)."""
    if not intents:
        return set()
    counted = [(journey_id, e) for e in events for journey_id, t in intents.items() if t.counts(e.name, e.properties)]
    if not counted:
        return set()
    contacts = {e.contact_id for _, e in counted}
    result = await session.execute(
        select(JourneyIntent).where(
            col(JourneyIntent.journey_id).in_(list(intents)), col(JourneyIntent.contact_id).in_(list(contacts))
        )
    )
    states = {(row.journey_id, row.contact_id): row for row in result.scalars()}
    completed: set[tuple[str, str]] = set()
    for journey_id, event in counted:
        key = (journey_id, event.contact_id)
        state = states.get(key)
        if state is None:
            state = states[key] = JourneyIntent(
                journey_id=journey_id, contact_id=event.contact_id, workspace_id=workspace_id
            )
        if event.event_id in state.seen:
            continue  # a row dispatched again counts once
        trigger = intents[journey_id]
        since = event.occurred_at - trigger.within
        hits = [h for h in state.hits if _hit_time(h) > since]
        hits.append([event.event_id, event.occurred_at.isoformat()])
        hits.sort(key=_hit_time)
        if len(hits) >= trigger.count:
            completed.add((journey_id, event.event_id))
            hits = []
        state.hits = hits
        state.seen = [*state.seen, event.event_id][-MAX_SEEN:]
        session.add(state)
    return completed
