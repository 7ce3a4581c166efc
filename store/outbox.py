"""The dispatch outbox: events waiting to reach journeys, and the dispatchers' counters.

Rows are written in the transaction that stores their event (ingestion, provider webhooks, one-click
unsubscribes), so an event is either stored with its outbox row or not at all: a crash between the commit and
the dispatch leaves the row, and a dispatcher delivers it later. On PostgreSQL the same transaction issues
`NOTIFY mauntic_dispatch`, delivered to listening dispatchers when it commits.

Why an outbox rather than a dispatch cursor over the event log: journeys are fed from three tables (events,
provider delivery events, unsubscribes), and a cursor per source would be three cursors to advance in step; a
cursor also cannot retry one event (or set one aside) without stalling every event behind it, nor be shared by N
dispatchers without partitioning. Outbox rows are deleted once dispatched, so the table stays as small as the lag
and its count and oldest row are the lag itself.

Claiming: on PostgreSQL `FOR UPDATE SKIP LOCKED`, held while the batch is dispatched, so N dispatchers share the
outbox without taking the same row; on SQLite a single dispatcher owns the outbox (store/outbox_wake.py) and reads
without locks. Per-contact order: a contact whose earlier row another dispatcher holds, or that waits for a retry,
is held back (`held_back`), so its events never overtake each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, case, delete, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from domain.dead_letters.model import DeadLetterIn, DeadLetterKind
from domain.events.interest import OutboxKind
from domain.json_limits import printable
from store.dead_letters import record_dead_letter
from store.models import DispatcherStats, DispatchOutbox

OUTBOX: Table = SQLModel.metadata.tables[DispatchOutbox.__tablename__]
STATS: Table = SQLModel.metadata.tables[DispatcherStats.__tablename__]
CHANNEL = "mauntic_dispatch"
_NOTIFY = text(f"NOTIFY {CHANNEL}")
_MAX_ERROR = 2000


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """An event for the contact's journeys: entry when it matches a trigger, a signal when a step waits for it."""

    workspace_id: str
    contact_id: str
    event_id: str
    name: str
    properties: dict[str, Any]
    occurred_at: datetime
    kind: str = OutboxKind.EVENT  # domain.events.interest.OutboxKind


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    event: OutboxEvent
    attempts: int


@dataclass(frozen=True, slots=True)
class Failure:
    row_id: int
    attempts: int  # including this one
    error: str
    retry_at: datetime | None  # None: parked


@dataclass(frozen=True, slots=True)
class Lag:
    pending: int
    oldest: datetime | None
    parked: int


@dataclass(frozen=True, slots=True)
class Totals:
    dispatched: int
    failures: int
    parked: int


# Kinds whose rows are order-insensitive and may be due in the future (segment entries are paced): a contact's
# later live events are not held back behind them.
PACED_KINDS = (OutboxKind.SEGMENT_ENTERED.value, OutboxKind.SEGMENT_EXITED.value, OutboxKind.SCORE_CROSSED.value)


def _rows(
    events: Sequence[OutboxEvent], now: datetime, not_before: Sequence[datetime] | None = None
) -> list[dict[str, Any]]:
    rows = [
        {
            "workspace_id": e.workspace_id,
            "contact_id": e.contact_id,
            "kind": e.kind,
            "event_id": e.event_id,
            "name": e.name,
            "properties": e.properties,
            "occurred_at": e.occurred_at,
            "created_at": now,
            "attempts": 0,
        }
        for e in events
    ]
    if not_before is not None:
        for row, due in zip(rows, not_before, strict=True):
            row["next_attempt_at"] = due
    return rows


def enqueue_sync(session: Session, events: Sequence[OutboxEvent], now: datetime) -> None:
    """Add rows in the caller's transaction (the ingestion path's synchronous unit of work)."""
    if not events:
        return
    session.execute(insert(OUTBOX), _rows(events, now))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_NOTIFY)


async def enqueue(
    session: AsyncSession,
    events: Sequence[OutboxEvent],
    now: datetime,
    *,
    not_before: Sequence[datetime] | None = None,
) -> None:
    """Add rows in the caller's transaction; `not_before` (one per event) makes rows due later (paced kinds only:
    PACED_KINDS, which hold back no other row)."""
    if not events:
        return
    await session.execute(insert(OUTBOX), _rows(events, now, not_before))
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_NOTIFY)


async def enqueue_on(connection: AsyncConnection, events: Sequence[OutboxEvent], now: datetime) -> None:
    """Add rows in the transaction of a bare connection (a path that writes without an ORM session)."""
    if not events:
        return
    await connection.execute(insert(OUTBOX), _rows(events, now))
    if connection.dialect.name == "postgresql":
        await connection.execute(_NOTIFY)


def _event(row: Any) -> OutboxRow:
    return OutboxRow(
        row.id,
        OutboxEvent(
            row.workspace_id, row.contact_id, row.event_id, row.name, row.properties, row.occurred_at, row.kind
        ),
        row.attempts,
    )


async def claim(session: AsyncSession, now: datetime, limit: int) -> list[OutboxRow]:
    """The oldest rows due, in id order; on PostgreSQL locked (skipping rows other dispatchers hold) until the
    caller's transaction ends."""
    c = OUTBOX.c
    query = (
        select(c.id, c.workspace_id, c.contact_id, c.kind, c.event_id, c.name, c.properties, c.occurred_at, c.attempts)
        .where(c.parked_at.is_(None), (c.next_attempt_at.is_(None)) | (c.next_attempt_at <= now))
        .order_by(c.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [_event(row) for row in await session.execute(query)]


async def held_back(session: AsyncSession, rows: Sequence[OutboxRow]) -> dict[str, int]:
    """For contacts of `rows` with an earlier row that is not among them (another dispatcher holds it, or it waits
    for its retry): the id of the first such row. The contact's rows from there on must wait. Rows of paced kinds
    (a segment entry due in a minute) hold nothing back: they are order-insensitive."""
    if not rows:
        return {}
    last: dict[str, int] = {}
    for row in rows:
        last[row.event.contact_id] = row.id
    c = OUTBOX.c
    mine = [row.id for row in rows]
    query = (
        select(c.contact_id, func.min(c.id))
        .where(
            c.parked_at.is_(None),
            c.kind.not_in(PACED_KINDS),
            c.contact_id.in_(list(last)),
            c.id < max(mine),
            c.id.not_in(mine),
        )
        .group_by(c.contact_id)
    )
    return {contact: first for contact, first in await session.execute(query) if first < last[contact]}


async def complete(session: AsyncSession, row_ids: Sequence[int]) -> None:
    for start in range(0, len(row_ids), 1000):
        await session.execute(delete(OUTBOX).where(OUTBOX.c.id.in_(list(row_ids[start : start + 1000]))))


async def fail(session: AsyncSession, failures: Sequence[Failure], now: datetime) -> None:
    if not failures:
        return
    c = OUTBOX.c
    statement = (
        update(OUTBOX)
        .where(c.id == bindparam("row_id"))
        .values(
            attempts=bindparam("n"),
            last_error=bindparam("error"),
            next_attempt_at=bindparam("retry_at"),
            parked_at=bindparam("parked_at"),
        )
    )
    await session.execute(
        statement,
        [
            {
                "row_id": f.row_id,
                "n": f.attempts,
                "error": printable(f.error)[:_MAX_ERROR],
                "retry_at": f.retry_at,
                "parked_at": now if f.retry_at is None else None,
            }
            for f in failures
        ],
        execution_options={"synchronize_session": False},
    )
    await _dead_letter_parked([f for f in failures if f.retry_at is None], now, session)


async def _dead_letter_parked(parked: Sequence[Failure], now: datetime, session: AsyncSession) -> None:
    """A parked row is a dead letter (kind dispatch, subject the row id), recorded in the parking transaction;
    mauntic/dead_letters/replayers.py un-parks it on replay."""
    if not parked:
        return
    errors = {f.row_id: f for f in parked}
    c = OUTBOX.c
    result = await session.execute(
        select(c.id, c.workspace_id, c.contact_id, c.kind, c.event_id, c.name).where(c.id.in_(list(errors)))
    )
    for row in result:
        failure = errors[row.id]
        await record_dead_letter(
            session,
            DeadLetterIn(
                workspace_id=row.workspace_id,
                kind=DeadLetterKind.DISPATCH,
                # with the event: SQLite may hand a deleted row's id to a new row (no AUTOINCREMENT)
                subject_id=f"{row.id}:{row.event_id}",
                error_type=failure.error.split("(", 1)[0][:64] or "DispatchFailed",
                error=failure.error,
                failed_at=now,
                input={
                    "outbox_id": row.id,
                    "event_id": row.event_id,
                    "contact_id": row.contact_id,
                    "kind": row.kind,
                    "name": row.name,
                },
                contact_id=row.contact_id,
                attempts=failure.attempts,
            ),
        )


async def unpark(session: AsyncSession, row_id: int) -> bool:
    """Give a parked row back to the dispatchers (attempts reset, due now); False when it is not parked (gone:
    dispatched or deleted). The caller commits; on PostgreSQL it notifies the dispatchers."""
    c = OUTBOX.c
    result = await session.execute(
        update(OUTBOX)
        .where(c.id == row_id, c.parked_at.is_not(None))
        .values(parked_at=None, attempts=0, next_attempt_at=None)
        .returning(c.id)
    )
    found = result.first() is not None
    if found and session.get_bind().dialect.name == "postgresql":
        await session.execute(_NOTIFY)
    return found


async def drop_parked(session: AsyncSession, row_id: int) -> bool:
    """Delete a parked row for good (its dead letter was discarded). The caller commits."""
    c = OUTBOX.c
    result = await session.execute(delete(OUTBOX).where(c.id == row_id, c.parked_at.is_not(None)).returning(c.id))
    return result.first() is not None


async def next_due(session: AsyncSession) -> datetime | None:
    """When the earliest row waiting for a retry is due (None: no row waits)."""
    c = OUTBOX.c
    result = await session.execute(select(func.min(c.next_attempt_at)).where(c.parked_at.is_(None)))
    value: datetime | None = result.scalar_one()
    return value


async def lag(session: AsyncSession) -> Lag:
    c = OUTBOX.c
    waiting = c.parked_at.is_(None)
    result = await session.execute(
        select(
            func.sum(case((waiting, 1), else_=0)),
            func.min(case((waiting, c.created_at), else_=None)),
            func.sum(case((waiting, 0), else_=1)),
        )
    )
    pending, oldest, parked = result.one()
    return Lag(int(pending or 0), oldest, int(parked or 0))


async def add_totals(session: AsyncSession, owner: str, now: datetime, totals: Totals) -> None:
    values = {
        "owner": owner,
        "dispatched": totals.dispatched,
        "failures": totals.failures,
        "parked": totals.parked,
        "last_seen_at": now,
    }
    builder = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = builder(STATS).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["owner"],
        set_={
            "dispatched": STATS.c.dispatched + statement.excluded.dispatched,
            "failures": STATS.c.failures + statement.excluded.failures,
            "parked": STATS.c.parked + statement.excluded.parked,
            "last_seen_at": statement.excluded.last_seen_at,
        },
    )
    await session.execute(statement)


async def totals(session: AsyncSession) -> Totals:
    c = STATS.c
    result = await session.execute(select(func.sum(c.dispatched), func.sum(c.failures), func.sum(c.parked)))
    dispatched, failures, parked = result.one()
    return Totals(int(dispatched or 0), int(failures or 0), int(parked or 0))


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt of a row that failed `attempts` times: 0.5 s doubling, at most a minute."""
    return timedelta(seconds=min(60.0, 0.5 * 2 ** min(attempts - 1, 10)))
