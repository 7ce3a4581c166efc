"""Reading what a journey's condition split needs to know about one contact (domain/journeys/steps/
split_conditions.py `needs`): a handful of indexed look-ups, only for what its conditions name.

- attributes: the contact row (fields over custom attributes, as scoring's attribute rules see them);
- segments: membership rows (primary key);
- scores: contact_score rows;
- events: track events of the contact by name in the window (ix_event_segment: workspace, name, contact,
  timestamp), counted in SQL without filters; with `where`, the newest EVENT_SCAN rows are matched with the
  journeys' property filters (so a split reads events as triggers and wait_for_event do);
- engagement: this run's message of each named send step (message_log by contact, idempotency key: the step's
  key, or that key with a suffix) and the provider's delivery events about it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.events.segment import MessageType
from domain.journeys.conditions import all_match
from domain.journeys.steps.split_conditions import EventHistory, Needs, SplitFacts, attribute_facts
from domain.scoring.rules import contact_fields
from store.contacts import get_contact
from store.models import DeliveryEvent, Event, MessageLog
from store.scoring_reads import contact_scores
from store.segments import is_member

EVENT_SCAN = 5_000  # filtered counts read at most this many of the newest events (a count above is "at least")
_FIELDS = ("email", "phone", "first_name", "last_name", "timezone", "external_id")


async def _count(session: AsyncSession, workspace_id: str, contact_id: str, history: EventHistory, at: datetime) -> int:
    conditions = [
        col(Event.workspace_id) == workspace_id,
        col(Event.name) == history.name,
        col(Event.contact_id) == contact_id,
        col(Event.type) == MessageType.TRACK.value,
        col(Event.timestamp) <= at,
    ]
    if history.within is not None:
        conditions.append(col(Event.timestamp) >= at - history.within)
    if not history.where:
        return int((await session.execute(select(func.count()).where(*conditions))).scalar_one())
    rows = await session.execute(
        select(col(Event.properties)).where(*conditions).order_by(col(Event.timestamp).desc()).limit(EVENT_SCAN)
    )
    return sum(1 for (properties,) in rows if all_match(history.where, properties or {}))


async def _engagement(
    session: AsyncSession, workspace_id: str, journey_id: str, contact_id: str, keys: dict[str, str]
) -> dict[str, list[str]]:
    rows = await session.execute(
        select(col(MessageLog.step_id), col(MessageLog.idempotency_key), col(MessageLog.provider_message_id)).where(
            col(MessageLog.workspace_id) == workspace_id,
            col(MessageLog.contact_id) == contact_id,
            col(MessageLog.journey_id) == journey_id,
            col(MessageLog.step_id).in_(sorted(keys)),
        )
    )
    provider_ids: dict[str, str] = {}  # provider message id -> step
    for step_id, key, provider_message_id in rows:
        mine = keys.get(step_id or "")
        if step_id and mine is not None and (key == mine or key.startswith(mine + ":")) and provider_message_id:
            provider_ids[provider_message_id] = step_id
    seen: dict[str, set[str]] = {}
    if provider_ids:
        events = await session.execute(
            select(col(DeliveryEvent.provider_message_id), col(DeliveryEvent.type)).where(
                col(DeliveryEvent.workspace_id) == workspace_id,
                col(DeliveryEvent.provider_message_id).in_(sorted(provider_ids)),
            )
        )
        for provider_message_id, kind in events:
            if provider_message_id in provider_ids:
                seen.setdefault(provider_ids[provider_message_id], set()).add(kind)
    return {step: sorted(kinds) for step, kinds in seen.items()}


async def read_split_facts(
    session: AsyncSession,
    workspace_id: str,
    journey_id: str,
    contact_id: str,
    needs: Needs,
    engagement_keys: dict[str, str],
    at: datetime,
) -> SplitFacts:
    contact = await get_contact(session, workspace_id, contact_id)
    if contact is None:
        return SplitFacts(contact_found=False)
    values = contact_fields({name: getattr(contact, name) for name in _FIELDS}, contact.attributes or {})
    facts = SplitFacts(attributes=attribute_facts(values, needs.attributes))
    for segment_id in sorted(needs.segments):
        facts.segments[segment_id] = await is_member(session, workspace_id, segment_id, contact_id)
    if needs.scores:
        scores = await contact_scores(session, workspace_id, contact_id)
        facts.scores = {group: scores.get(group, 0.0) for group in sorted(needs.scores)}
    for key, history in needs.events.items():
        facts.events[key] = await _count(session, workspace_id, contact_id, history, at)
    wanted = {step: engagement_keys[step] for step in needs.engagement if step in engagement_keys}
    if wanted:
        facts.engagement = await _engagement(session, workspace_id, journey_id, contact_id, wanted)
    return facts
