"""Segments in the store: saved filters, membership and its history, and the diff that moves contacts in and out.

`apply_diff` is the one way membership changes, for the dispatcher's real-time re-evaluation (a list of contacts)
and the scheduled refresh (an id range at a time) alike. Who enters and who leaves are computed by the database:
an INSERT .. SELECT of the matching contacts not yet members, and a DELETE of the members that no longer match,
both RETURNING the contact ids, so Python only sees the changes, never the matching set. Entries and exits are
written as outbox rows (segment_entered / segment_exited) in the same transaction; entries are paced (each row
due 1/rate after the previous one of the workspace) so a segment that gains 10,000 members starts journeys at
the configured rate rather than all at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, exists, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from domain.events.interest import Interest, OutboxKind
from domain.segments.analysis import Dependencies, dependencies
from domain.segments.filters import Filter, parse_filter
from store.models_segments import Segment, SegmentHistory, SegmentMembership
from store.outbox import OUTBOX, OutboxEvent, enqueue
from store.queries import insert_ignoring
from store.segment_sql import CONTACT, MEMBERSHIP, FilterCompiler, Scope
from store.types import UTCDateTime

SEGMENT: Table = SQLModel.metadata.tables[Segment.__tablename__]
HISTORY: Table = SQLModel.metadata.tables[SegmentHistory.__tablename__]
# Names of the events that change consent state (one-click unsubscribes, provider bounces and complaints)
CONSENT_EVENTS = frozenset({"unsubscribed", "bounced", "complained"})
_CHUNK = 1000


@dataclass(frozen=True)
class LoadedSegment:
    id: str
    filter: Filter
    depends: Dependencies


@dataclass(frozen=True)
class Diff:
    entered: list[str]
    exited: list[str]


def load(row: Segment) -> LoadedSegment:
    node = parse_filter(row.filter)
    return LoadedSegment(row.id, node, dependencies(node))


async def segments_of(session: AsyncSession, workspace_id: str) -> list[Segment]:
    result = await session.execute(
        select(Segment).where(col(Segment.workspace_id) == workspace_id).order_by(col(Segment.id))
    )
    return list(result.scalars())


async def get_segment(session: AsyncSession, workspace_id: str, segment_id: str) -> Segment | None:
    row = await session.get(Segment, segment_id)
    return row if row is not None and row.workspace_id == workspace_id else None


async def is_member(session: AsyncSession, workspace_id: str, segment_id: str, contact_id: str) -> bool:
    """Whether the contact is in the segment now: one primary-key lookup."""
    m = MEMBERSHIP.c
    result = await session.execute(
        select(literal(1)).where(m.segment_id == segment_id, m.contact_id == contact_id, m.workspace_id == workspace_id)
    )
    return result.first() is not None


async def segment_interest(session: AsyncSession, workspace_id: str) -> Interest:
    """The events segment filters count (and those that change consent), and contact (and company) changes when a
    filter reads contact fields, consent or companies. Score filters ask for nothing: scores change on scoring's
    events, which scoring's own interest queues, and on score_crossed rows."""
    names: set[str] = set()
    contacts = False
    for row in await segments_of(session, workspace_id):
        depends = load(row).depends
        names |= depends.event_names
        if depends.consent:
            names |= CONSENT_EVENTS
        contacts = contacts or depends.contact_fields or depends.consent or depends.companies
    return Interest(frozenset(names), contacts)


def entry_event_id(segment_id: str, contact_id: str, entered_at: datetime) -> str:
    """Deterministic per entry, and short enough for a journey enrollment's trigger event id (40)."""
    digest = hashlib.sha256(f"{segment_id}|{contact_id}|{entered_at.isoformat()}".encode()).hexdigest()
    return "se_" + digest[:32]


async def _next_slot(session: AsyncSession, workspace_id: str, now: datetime) -> datetime:
    c = OUTBOX.c
    result = await session.execute(
        select(func.max(c.next_attempt_at)).where(
            c.workspace_id == workspace_id, c.kind == OutboxKind.SEGMENT_ENTERED, c.parked_at.is_(None)
        )
    )
    latest: datetime | None = result.scalar_one()
    return max(now, latest) if latest is not None else now


async def apply_diff(
    session: AsyncSession,
    workspace_id: str,
    segment: LoadedSegment,
    now: datetime,
    scope: Scope,
    *,
    entry_rate: float,
) -> Diff:
    """Move the contacts in scope in or out of the segment; in the caller's transaction."""
    dialect = session.get_bind().dialect.name
    matching = FilterCompiler(dialect, workspace_id, now, scope).members(segment.filter).subquery()
    m = MEMBERSHIP.c
    chosen = select(
        literal(segment.id).label("segment_id"),
        matching.c.id,
        literal(workspace_id).label("workspace_id"),
        literal(now, UTCDateTime()).label("entered_at"),
    ).where(matching.c.id.is_not(None))
    statement = insert_ignoring(dialect, MEMBERSHIP, "segment_id", "contact_id").from_select(
        ["segment_id", "contact_id", "workspace_id", "entered_at"], chosen
    )
    entered = sorted(r[0] for r in await session.execute(statement.returning(m.contact_id)))
    # NOT EXISTS correlated on the member (an anti-join), not NOT IN: see store.segment_sql
    still = (
        FilterCompiler(dialect, workspace_id, now, scope).members(segment.filter).where(CONTACT.c.id == m.contact_id)
    )
    gone = delete(MEMBERSHIP).where(m.segment_id == segment.id, *scope.on(m.contact_id), ~exists(still))
    exited = sorted(r[0] for r in await session.execute(gone.returning(m.contact_id)))
    if entered or exited:
        await _record(session, workspace_id, segment.id, Diff(entered, exited), now, entry_rate)
    return Diff(entered, exited)


async def _record(
    session: AsyncSession, workspace_id: str, segment_id: str, diff: Diff, now: datetime, entry_rate: float
) -> None:
    h = HISTORY.c
    for start in range(0, len(diff.exited), _CHUNK):
        chunk = diff.exited[start : start + _CHUNK]
        await session.execute(
            update(HISTORY)
            .where(h.segment_id == segment_id, h.contact_id.in_(chunk), h.exited_at.is_(None))
            .values(exited_at=now)
        )
    if diff.entered:
        await session.execute(
            insert(HISTORY),
            [
                {"workspace_id": workspace_id, "segment_id": segment_id, "contact_id": c, "entered_at": now}
                for c in diff.entered
            ],
        )
    await session.execute(
        update(SEGMENT)
        .where(SEGMENT.c.id == segment_id)
        .values(member_count=SEGMENT.c.member_count + len(diff.entered) - len(diff.exited))
    )
    properties: dict[str, Any] = {"segment_id": segment_id}
    exits = [
        OutboxEvent(
            workspace_id,
            c,
            entry_event_id(segment_id, c, now) + "x",
            segment_id,
            properties,
            now,
            OutboxKind.SEGMENT_EXITED,
        )
        for c in diff.exited
    ]
    entries = [
        OutboxEvent(
            workspace_id, c, entry_event_id(segment_id, c, now), segment_id, properties, now, OutboxKind.SEGMENT_ENTERED
        )
        for c in diff.entered
    ]
    await enqueue(session, exits, now)
    if entries:
        due: list[datetime] | None = None
        if entry_rate > 0:
            first = await _next_slot(session, workspace_id, now)
            step = 1.0 / entry_rate
            due = [first + timedelta(seconds=step * (i + 1)) for i in range(len(entries))]
        for start in range(0, len(entries), _CHUNK):
            chunk_due = None if due is None else due[start : start + _CHUNK]
            await enqueue(session, entries[start : start + _CHUNK], now, not_before=chunk_due)


async def members_page(
    session: AsyncSession, segment_id: str, *, after: str | None, limit: int
) -> list[SegmentMembership]:
    query = select(SegmentMembership).where(col(SegmentMembership.segment_id) == segment_id)
    if after:
        query = query.where(col(SegmentMembership.contact_id) > after)
    result = await session.execute(query.order_by(col(SegmentMembership.contact_id)).limit(limit))
    return list(result.scalars())


async def segments_of_contact(session: AsyncSession, workspace_id: str, contact_id: str) -> list[SegmentMembership]:
    result = await session.execute(
        select(SegmentMembership)
        .where(col(SegmentMembership.workspace_id) == workspace_id, col(SegmentMembership.contact_id) == contact_id)
        .order_by(col(SegmentMembership.segment_id))
    )
    return list(result.scalars())


async def history_page(
    session: AsyncSession, segment_id: str, *, after: int | None, limit: int
) -> list[SegmentHistory]:
    query = select(SegmentHistory).where(col(SegmentHistory.segment_id) == segment_id)
    if after is not None:
        query = query.where(col(SegmentHistory.id) < after)
    result = await session.execute(query.order_by(col(SegmentHistory.id).desc()).limit(limit))
    return list(result.scalars())


async def delete_segment(session: AsyncSession, segment_id: str) -> None:
    await session.execute(delete(MEMBERSHIP).where(MEMBERSHIP.c.segment_id == segment_id))
    await session.execute(delete(HISTORY).where(HISTORY.c.segment_id == segment_id))
    segment = await session.get(Segment, segment_id)
    if segment is not None:
        await session.delete(segment)  # through the ORM: the audit hook records `segment.deleted` with its filter


async def chunk_upper_bound(session: AsyncSession, workspace_id: str, after: str | None, size: int) -> str | None:
    """The id `size` contacts after `after` (the end of the next chunk), or None when fewer remain (last chunk)."""
    c = CONTACT.c
    query = select(c.id).where(c.workspace_id == workspace_id)
    if after is not None:
        query = query.where(c.id > after)
    result = await session.execute(query.order_by(c.id).offset(size - 1).limit(1))
    return result.scalar_one_or_none()


async def time_based_segments(session: AsyncSession) -> list[tuple[str, str]]:
    """(workspace, segment) of every segment whose membership time alone can change."""
    result = await session.execute(
        select(SEGMENT.c.workspace_id, SEGMENT.c.id).where(SEGMENT.c.time_based.is_(True)).order_by(SEGMENT.c.id)
    )
    return [(ws, sid) for ws, sid in result]


async def mark_refreshed(session: AsyncSession, segment_id: str, now: datetime) -> None:
    await session.execute(update(SEGMENT).where(SEGMENT.c.id == segment_id).values(refreshed_at=now))


async def leave_all(session: AsyncSession, workspace_id: str, contact_id: str, now: datetime) -> int:
    """A deleted contact (already deleted in this transaction) leaves every segment it was in, with its history and
    segment_exited rows; how many."""
    left = 0
    for membership in await segments_of_contact(session, workspace_id, contact_id):
        row = await get_segment(session, workspace_id, membership.segment_id)
        if row is not None:
            diff = await apply_diff(
                session, workspace_id, load(row), now, Scope(contact_ids=[contact_id]), entry_rate=0
            )
            left += len(diff.exited)
    return left
