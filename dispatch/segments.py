"""Real-time segment evaluation: the dispatcher consumer that re-evaluates the contacts of a batch.

For each workspace in the batch it picks the segments what happened can affect, and only those: an event row
affects the segments counting that event name (and consent segments, for unsubscribes, bounces, complaints), a
contact row those reading contact fields, attributes or consent (a merge's row, every segment: events, scores and
memberships moved too), a score crossing those with score ranges, and
a segment entry or exit those that read that segment's membership. Each is re-evaluated for the batch's
contacts only (one INSERT .. SELECT and one DELETE, scoped to them), in dependency order, so a segment reading
another sees its fresh membership. State-based, so running a batch twice changes nothing the second time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.clock import utcnow
from domain.events.interest import CONTACT_MERGED, OutboxKind
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from mauntic.ttl_cache import TtlCache
from store.outbox import OutboxRow
from store.segment_sql import Scope, contacts_of_companies
from store.segments import CONSENT_EVENTS, LoadedSegment, apply_diff, load, segments_of

_CACHE_SECONDS = 2.0


def in_dependency_order(segments: Sequence[LoadedSegment]) -> list[LoadedSegment]:
    """Segments read by others first (saving refuses cycles; a cycle here, if any, is broken arbitrarily)."""
    by_id = {s.id: s for s in segments}
    ordered: list[LoadedSegment] = []
    seen: set[str] = set()

    def visit(segment: LoadedSegment, trail: frozenset[str]) -> None:
        if segment.id in seen or segment.id in trail:
            return
        for read in sorted(segment.depends.segments):
            if read in by_id:
                visit(by_id[read], trail | {segment.id})
        seen.add(segment.id)
        ordered.append(segment)

    for segment in segments:
        visit(segment, frozenset())
    return ordered


def affected(segment: LoadedSegment, rows: Sequence[OutboxRow]) -> bool:
    d = segment.depends
    for row in rows:
        kind, name = row.event.kind, row.event.name
        if kind == OutboxKind.EVENT and (name in d.event_names or (d.consent and name in CONSENT_EVENTS)):
            return True
        if kind == OutboxKind.CONTACT and (name == CONTACT_MERGED or d.contact_fields or d.consent or d.companies):
            return True
        if kind == OutboxKind.SCORE_CROSSED and d.scores:
            return True
        if kind in (OutboxKind.SEGMENT_ENTERED, OutboxKind.SEGMENT_EXITED) and name in d.segments:
            return True
    return False


class SegmentConsumer:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], entry_rate: float) -> None:
        self._sessions = sessions
        self._entry_rate = entry_rate
        self._segments: TtlCache[str, list[LoadedSegment]] = TtlCache(_CACHE_SECONDS)

    def forget(self, workspace_id: str) -> None:
        self._segments.forget(workspace_id)

    async def _load(self, workspace_id: str) -> list[LoadedSegment]:
        async with self._sessions() as session:
            return in_dependency_order([load(row) for row in await segments_of(session, workspace_id)])

    async def consume(self, rows: Sequence[OutboxRow]) -> None:
        by_workspace: dict[str, list[OutboxRow]] = defaultdict(list)
        for row in rows:
            by_workspace[row.event.workspace_id].append(row)
        for workspace_id, mine in by_workspace.items():
            segments = await self._segments.get(workspace_id, lambda ws=workspace_id: self._load(ws))  # type: ignore[misc]
            await self._evaluate(workspace_id, segments, mine)

    async def _evaluate(self, workspace_id: str, segments: Sequence[LoadedSegment], rows: Sequence[OutboxRow]) -> None:
        # A segment re-evaluated for a contact because another segment changed in this same batch is covered
        # by the entry/exit rows that change writes: they come back through the dispatcher.
        people = [r for r in rows if r.event.kind != OutboxKind.COMPANY]
        companies = sorted({r.event.name for r in rows if r.event.kind == OutboxKind.COMPANY})
        todo: list[tuple[LoadedSegment, Scope]] = []
        for s in segments:
            contacts = sorted({r.event.contact_id for r in people if affected(s, [r])})
            if contacts:
                todo.append((s, Scope(contact_ids=contacts)))
            if companies and s.depends.companies:
                todo.append((s, Scope(among=contacts_of_companies(workspace_id, companies))))
        if not todo:
            return
        now = utcnow()
        async with self._sessions() as session, session.begin():
            for segment, scope in todo:
                await apply_diff(session, workspace_id, segment, now, scope, entry_rate=self._entry_rate)


def segment_consumer(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, temporal: TemporalGateway
) -> SegmentConsumer:
    return SegmentConsumer(sessions, settings.segment_entry_rate)
