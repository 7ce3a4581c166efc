"""The scoring consumer of the dispatcher: ingested events and contact changes update scores in real time.

Per workspace of a batch, in one transaction: the event rules grant ledger rows for the batch's events (one
INSERT ... SELECT per rule over the event table, idempotent per rule and event), attribute rules are
re-evaluated for the contacts whose rows are `contact` rows, and the scores of every contact touched are brought
to their ledger (store/scoring_apply.py, the code the batch recompute runs). Crossings open alerts and queue
score_crossed rows in that transaction; the dispatcher then routes those to journeys like any other row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.clock import utcnow
from domain.events.interest import OutboxKind
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from mauntic.ttl_cache import TtlCache
from store.db import is_sqlite
from store.outbox import OutboxRow
from store.outbox_wake import DispatchWaker
from store.scoring_apply import contact_ids, event_ids, grant_attributes, grant_events, refresh_scores
from store.scoring_rules import Scoring, load_scoring

RULES_CACHE_SECONDS = 2.0


class ScoringConsumer:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessions = sessions
        self._scoring: TtlCache[str, Scoring] = TtlCache(RULES_CACHE_SECONDS)
        url = settings.resolved_database_url
        self._waker = DispatchWaker(url) if is_sqlite(url) else None

    def forget(self, workspace_id: str) -> None:
        self._scoring.forget(workspace_id)

    async def _load(self, workspace_id: str) -> Scoring:
        async def load() -> Scoring:
            async with self._sessions() as session:
                return await load_scoring(session, workspace_id)

        return await self._scoring.get(workspace_id, load)

    async def consume(self, rows: Sequence[OutboxRow]) -> None:
        events: dict[str, list[tuple[str, str, str]]] = defaultdict(list)  # ws -> (event id, contact, name)
        changed: dict[str, set[str]] = defaultdict(set)
        for row in rows:
            e = row.event
            if not e.contact_id:
                continue
            if e.kind == OutboxKind.EVENT:
                events[e.workspace_id].append((e.event_id, e.contact_id, e.name))
            elif e.kind == OutboxKind.CONTACT:
                changed[e.workspace_id].add(e.contact_id)
        queued = False
        for workspace_id in sorted(set(events) | set(changed)):
            scoring = await self._load(workspace_id)
            if not scoring.rules:
                continue
            names = {rule.spec.event for rule in scoring.event_rules}
            mine = [(eid, cid) for eid, cid, name in events.get(workspace_id, ()) if name in names]
            attribute_contacts = sorted(changed.get(workspace_id, ())) if scoring.attribute_rules else []
            if not mine and not attribute_contacts:
                continue
            now = utcnow()
            async with self._sessions() as session:
                if mine:
                    await grant_events(session, workspace_id, scoring.event_rules, event_ids([e for e, _ in mine]), now)
                if attribute_contacts:
                    await grant_attributes(
                        session, workspace_id, scoring.attribute_rules, contact_ids(attribute_contacts), now
                    )
                touched = contact_ids([c for _, c in mine] + attribute_contacts)
                crossings = await refresh_scores(session, workspace_id, scoring, touched, now)
                await session.commit()
            queued = queued or bool(crossings)
        if queued and self._waker is not None:
            self._waker.wake()


def scoring_consumer(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, temporal: TemporalGateway
) -> ScoringConsumer:
    return ScoringConsumer(sessions, settings)
