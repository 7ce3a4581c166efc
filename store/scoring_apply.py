"""Applying scoring: grants into the ledger, scores from the ledger, threshold crossings into alerts and outbox.

One code path for real time and recompute: `grant_events` (scope: the batch's event ids, or a chunk of
contacts), `grant_attributes`, then `refresh_scores` for the contacts concerned at one reference hour. Scores are
aggregated in SQL (`decayed_value`), compared with what contact_score holds, and only what changed is written;
a change that crosses a threshold opens an alert and queues a score_crossed row (and an alert_opened row) in the
same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Float,
    MetaData,
    String,
    Table,
    and_,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy import Table as SaTable
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from domain.events.interest import OutboxKind
from domain.ids import new_id
from domain.scoring.decay import MICRO, epoch_hour
from domain.scoring.rules import TOTAL, Direction, contact_fields, contact_matches, crossed
from store.models import Contact, ContactScore
from store.models_scoring import ScoreAlert
from store.outbox import OutboxEvent, enqueue
from store.scoring_rules import CompiledRule, Scoring
from store.scoring_sql import EVENT, LEDGER, LEDGER_COLUMNS, decayed_value, grant_select

SCORES: Table = SQLModel.metadata.tables[ContactScore.__tablename__]
ALERTS: Table = SQLModel.metadata.tables[ScoreAlert.__tablename__]
CONTACTS: Table = SQLModel.metadata.tables[Contact.__tablename__]
Scope = Callable[[Any], ColumnElement[bool]]  # a condition on a contact_id column


@dataclass(frozen=True, slots=True)
class Crossing:
    contact_id: str
    group: str
    threshold_id: str
    threshold: float
    direction: str
    score: float
    previous: float


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _reason(rule: CompiledRule) -> str:
    sign = "+" if rule.points_micro >= 0 else ""
    return f"{rule.name}: {sign}{rule.spec.points:g} for {rule.spec.event}"[:480]


async def grant_events(
    session: AsyncSession,
    workspace_id: str,
    rules: Iterable[CompiledRule],
    scope: ColumnElement[bool],
    now: datetime,
    empty_ledger: bool = False,
) -> None:
    """Append the ledger rows the event rules grant for the events in `scope` (idempotent per rule and event)."""
    dialect = _dialect(session)
    for rule in rules:
        spec = rule.spec
        assert spec.event is not None
        query = grant_select(
            dialect,
            workspace_id,
            rule.id,
            rule.group,
            spec.event,
            spec.where,
            rule.points_micro,
            rule.cap_micro,
            spec.cap.window_hours if spec.cap else None,
            rule.half_life_hours,
            _reason(rule),
            scope,
            now,
            empty_ledger,
        )
        await session.execute(insert(LEDGER).from_select(list(LEDGER_COLUMNS), query))


async def grant_attributes(
    session: AsyncSession, workspace_id: str, rules: Sequence[CompiledRule], contacts: Scope, now: datetime
) -> None:
    """Attribute rules hold while their conditions do: a row (event `contact:<id>`) is added when a contact
    matches and removed when it no longer does; it decays from when it was granted. A merged contact matches
    nothing, and a row a merge moved to another contact (event `contact:<merged id>`) is removed: the survivor
    holds its own, once."""
    if not rules:
        return
    c = CONTACTS.c
    rows = await session.execute(
        select(c.id, c.email, c.phone, c.first_name, c.last_name, c.timezone, c.external_id, c.attributes).where(
            c.workspace_id == workspace_id, contacts(c.id), c.merged_into.is_(None)
        )
    )
    matching: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        fields = contact_fields(
            {k: getattr(row, k) for k in ("email", "phone", "first_name", "last_name", "timezone", "external_id")},
            row.attributes or {},
        )
        for rule in rules:
            assert rule.spec.attributes is not None
            if contact_matches(rule.spec.attributes, fields):
                matching[rule.id].add(row.id)
    hour = epoch_hour(now)
    for rule in rules:
        rows_held = await session.execute(
            select(LEDGER.c.contact_id, LEDGER.c.event_id).where(
                LEDGER.c.rule_id == rule.id, contacts(LEDGER.c.contact_id)
            )
        )
        held: set[str] = set()
        gone: list[str] = []
        for cid, event_id in rows_held.all():
            if event_id == f"contact:{cid}" and cid in matching[rule.id]:
                held.add(cid)
            else:
                gone.append(event_id)
        for start in range(0, len(gone), 500):
            chunk = gone[start : start + 500]
            await session.execute(delete(LEDGER).where(LEDGER.c.rule_id == rule.id, LEDGER.c.event_id.in_(chunk)))
        new = sorted(matching[rule.id] - held)
        if new:
            sign = "+" if rule.points_micro >= 0 else ""
            reason = f"{rule.name}: {sign}{rule.spec.points:g} while the contact matches"[:480]
            await session.execute(
                insert(LEDGER),
                [
                    {
                        "workspace_id": workspace_id,
                        "contact_id": cid,
                        "score_group": rule.group,
                        "rule_id": rule.id,
                        "event_id": f"contact:{cid}",
                        "points_micro": rule.points_micro,
                        "granted_hour": hour,
                        "half_life_hours": rule.half_life_hours,
                        "cap_window": None,
                        "reason": reason,
                        "created_at": now,
                    }
                    for cid in new
                ],
            )


async def refresh_scores(
    session: AsyncSession, workspace_id: str, scoring: Scoring, contacts: Scope, now: datetime
) -> list[Crossing]:
    """Bring contact_score of the contacts in scope to their ledger at `now`'s hour; the crossings it caused.

    Set-based: the per-group and total sums are one aggregate over the ledger (integer micro points, so the
    total is exactly the sum of the groups), compared with contact_score in SQL to find threshold crossings, then
    the contacts' rows are replaced by the aggregate (a zero score keeps no row)."""
    fresh = await _materialize(session, _fresh_scores(workspace_id, contacts, epoch_hour(now)))
    found = await _crossings_sql(session, workspace_id, scoring, contacts, fresh)
    s = SCORES.c
    await session.execute(delete(SCORES).where(s.workspace_id == workspace_id, contacts(s.contact_id)))
    stamp = literal(now, s.updated_at.type)
    rows = select(literal(workspace_id), fresh.c.contact_id, fresh.c.score_group, _points(fresh.c.micro), stamp)
    await session.execute(
        insert(SCORES).from_select(
            ["workspace_id", "contact_id", "score_group", "score", "updated_at"], rows.where(fresh.c.micro != 0)
        )
    )
    return await _crossings(session, workspace_id, scoring, found, now)


_SCRATCH = MetaData()
# The aggregate is read three times (crossings, scores gone, the new rows): computed once into a temporary table
# of the session's connection (kept for the connection's life and emptied each time: no catalog write per call).
FRESH = SaTable(
    "score_fresh",
    _SCRATCH,
    Column("contact_id", String(40), primary_key=True),
    Column("score_group", String(64), primary_key=True),
    Column("micro", BigInteger, nullable=False),
    prefixes=["TEMPORARY"],
)


async def _materialize(session: AsyncSession, fresh: Any) -> SaTable:
    connection = await session.connection()
    await connection.run_sync(lambda sync: FRESH.create(sync, checkfirst=True))
    await session.execute(delete(FRESH))
    await session.execute(insert(FRESH).from_select(["contact_id", "score_group", "micro"], select(fresh)))
    return FRESH


def _points(micro_sum: Any) -> ColumnElement[Any]:
    """domain.scoring.decay.as_points in SQL: one correctly rounded IEEE division, the same everywhere."""
    return cast(micro_sum, Float) / literal(float(MICRO), Float)


def _fresh_scores(workspace_id: str, contacts: Scope, reference_hour: int) -> Any:
    l = LEDGER.c  # noqa: E741
    value = decayed_value(reference_hour)
    mine = (l.workspace_id == workspace_id, contacts(l.contact_id))
    groups = select(l.contact_id, l.score_group, func.sum(value).label("micro")).where(*mine)
    totals = select(l.contact_id, literal(TOTAL).label("score_group"), func.sum(value).label("micro")).where(*mine)
    return union_all(groups.group_by(l.contact_id, l.score_group), totals.group_by(l.contact_id)).subquery("fresh")


async def _crossings_sql(
    session: AsyncSession, workspace_id: str, scoring: Scoring, contacts: Scope, fresh: Any
) -> list[tuple[str, str, float, float]]:
    """(contact, group, new, previous) of every score in scope whose change crosses one of the thresholds."""
    if not scoring.thresholds:
        return []
    old = SCORES.alias("old")
    new_score = _points(fresh.c.micro)
    previous = func.coalesce(old.c.score, 0.0)
    joined = fresh.outerjoin(
        old,
        and_(
            old.c.workspace_id == workspace_id,
            old.c.contact_id == fresh.c.contact_id,
            old.c.score_group == fresh.c.score_group,
        ),
    )

    def crossing(group: Any, new: Any, before: Any) -> ColumnElement[bool]:
        return or_(
            *(
                and_(group == t.group, before < t.value, new >= t.value)
                if t.direction is Direction.UP
                else and_(group == t.group, new < t.value, before >= t.value)
                for t in scoring.thresholds
            )
        )

    changed = select(fresh.c.contact_id, fresh.c.score_group, new_score, previous).select_from(joined)
    rows = list(await session.execute(changed.where(crossing(fresh.c.score_group, new_score, previous))))
    # scores whose ledger is gone fall to 0 (their rule was deleted)
    gone = (
        select(old.c.contact_id, old.c.score_group, literal(0.0, Float), old.c.score)
        .select_from(
            old.outerjoin(fresh, and_(fresh.c.contact_id == old.c.contact_id, fresh.c.score_group == old.c.score_group))
        )
        .where(old.c.workspace_id == workspace_id, contacts(old.c.contact_id), fresh.c.contact_id.is_(None))
    )
    rows += list(await session.execute(gone.where(crossing(old.c.score_group, literal(0.0, Float), old.c.score))))
    return [(c, g, float(new), float(before)) for c, g, new, before in rows]


async def _crossings(
    session: AsyncSession,
    workspace_id: str,
    scoring: Scoring,
    changes: list[tuple[str, str, float, float]],
    now: datetime,
) -> list[Crossing]:
    """Open an alert and queue score_crossed and alert_opened rows for each threshold a change crossed."""
    if not changes:
        return []
    by_group = defaultdict(list)
    for threshold in scoring.thresholds:
        by_group[threshold.group].append(threshold)
    found = [
        Crossing(cid, group, t.id, t.value, t.direction.value, new, previous)
        for cid, group, new, previous in changes
        for t in by_group.get(group, ())
        if crossed(previous, new, t.value, t.direction)
    ]
    if not found:
        return []
    ttl = {t.id: t.alert_ttl_hours for t in scoring.thresholds}
    await session.execute(
        insert(ALERTS),
        [
            {
                "workspace_id": workspace_id,
                "contact_id": x.contact_id,
                "threshold_id": x.threshold_id,
                "score_group": x.group,
                "threshold": x.threshold,
                "direction": x.direction,
                "score": x.score,
                "previous": x.previous,
                "opened_at": now,
                "expires_at": now + timedelta(hours=ttl[x.threshold_id]),
                "acknowledged_at": None,
                "closed_at": None,
            }
            for x in found
        ],
    )
    events: list[OutboxEvent] = []
    for x in found:
        properties = {
            "group": x.group,
            "threshold": x.threshold,
            "direction": x.direction,
            "score": x.score,
            "previous": x.previous,
        }
        # ids of 30 characters: a journey keeps its trigger's id (40 at most)
        crossing = OutboxEvent(
            workspace_id, x.contact_id, new_id("scx"), x.group, properties, now, OutboxKind.SCORE_CROSSED
        )
        opened = OutboxEvent(
            workspace_id, x.contact_id, new_id("sal"), x.group, properties, now, OutboxKind.ALERT_OPENED
        )
        events += [crossing, opened]
    await enqueue(session, events, now)
    return found


def event_ids(ids: Sequence[str]) -> ColumnElement[bool]:
    return EVENT.c.id.in_(list(ids))


def contact_ids(ids: Sequence[str]) -> Scope:
    chosen = sorted(set(ids))
    return lambda column: column.in_(chosen)


def contact_range(after: str | None, last: str) -> Scope:
    def scope(column: Any) -> ColumnElement[bool]:
        upper: ColumnElement[bool] = column <= last
        return upper if after is None else and_(column > after, upper)

    return scope
