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

from sqlalchemy import ColumnElement, Table, and_, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from domain.events.interest import OutboxKind
from domain.ids import new_id
from domain.scoring.decay import as_points, epoch_hour, micro
from domain.scoring.rules import TOTAL, contact_fields, contact_matches, crossed
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
    session: AsyncSession, workspace_id: str, rules: Iterable[CompiledRule], scope: ColumnElement[bool], now: datetime
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
        )
        await session.execute(insert(LEDGER).from_select(list(LEDGER_COLUMNS), query))


async def grant_attributes(
    session: AsyncSession, workspace_id: str, rules: Sequence[CompiledRule], contacts: Scope, now: datetime
) -> None:
    """Attribute rules hold while their conditions do: a row (event `contact:<id>`) is added when a contact
    matches and removed when it no longer does; it decays from when it was granted."""
    if not rules:
        return
    c = CONTACTS.c
    rows = await session.execute(
        select(c.id, c.email, c.phone, c.first_name, c.last_name, c.timezone, c.external_id, c.attributes).where(
            c.workspace_id == workspace_id, contacts(c.id)
        )
    )
    matching: dict[str, set[str]] = defaultdict(set)
    ids = []
    for row in rows:
        ids.append(row.id)
        fields = contact_fields(
            {k: getattr(row, k) for k in ("email", "phone", "first_name", "last_name", "timezone", "external_id")},
            row.attributes or {},
        )
        for rule in rules:
            assert rule.spec.attributes is not None
            if contact_matches(rule.spec.attributes, fields):
                matching[rule.id].add(row.id)
    if not ids:
        return
    hour = epoch_hour(now)
    for rule in rules:
        held = set(
            (
                await session.execute(
                    select(LEDGER.c.contact_id).where(LEDGER.c.rule_id == rule.id, contacts(LEDGER.c.contact_id))
                )
            ).scalars()
        )
        gone = [f"contact:{cid}" for cid in held - matching[rule.id]]
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
    """Bring contact_score of the contacts in scope to their ledger at `now`'s hour; the crossings it caused."""
    reference = epoch_hour(now)
    value = decayed_value(reference)
    l = LEDGER.c  # noqa: E741
    fresh: dict[tuple[str, str], int] = {}
    totals: dict[str, int] = defaultdict(int)
    query = (
        select(l.contact_id, l.score_group, func.sum(value))
        .where(l.workspace_id == workspace_id, contacts(l.contact_id))
        .group_by(l.contact_id, l.score_group)
    )
    for contact_id, group, total in await session.execute(query):
        fresh[(contact_id, group)] = int(total)
        totals[contact_id] += int(total)
    for contact_id, total in totals.items():
        fresh[(contact_id, TOTAL)] = total
    s = SCORES.c
    old: dict[tuple[str, str], float] = {
        (cid, group): score
        for cid, group, score in await session.execute(
            select(s.contact_id, s.score_group, s.score).where(s.workspace_id == workspace_id, contacts(s.contact_id))
        )
    }
    changed: list[tuple[str, str, float, float]] = []  # contact, group, new, previous
    for key, value_micro in fresh.items():
        previous = old.get(key, 0.0)
        if micro(previous) != value_micro:
            changed.append((key[0], key[1], as_points(value_micro), previous))
    zeroed = [(cid, group, 0.0, score) for (cid, group), score in old.items() if (cid, group) not in fresh]
    await _write_scores(session, workspace_id, changed, zeroed, now)
    return await _crossings(session, workspace_id, scoring, [*changed, *zeroed], now)


async def _write_scores(
    session: AsyncSession,
    workspace_id: str,
    changed: list[tuple[str, str, float, float]],
    zeroed: list[tuple[str, str, float, float]],
    now: datetime,
) -> None:
    s = SCORES.c
    for start in range(0, len(zeroed), 500):
        for cid, group, _, _ in zeroed[start : start + 500]:
            await session.execute(
                delete(SCORES).where(s.workspace_id == workspace_id, s.contact_id == cid, s.score_group == group)
            )
    if not changed:
        return
    builder = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    statement = builder(SCORES)
    statement = statement.on_conflict_do_update(
        index_elements=["workspace_id", "contact_id", "score_group"],
        set_={"score": statement.excluded.score, "updated_at": statement.excluded.updated_at},
    )
    rows = [
        {"workspace_id": workspace_id, "contact_id": c, "score_group": g, "score": v, "updated_at": now}
        for c, g, v, _ in changed
    ]
    for start in range(0, len(rows), 5000):
        await session.execute(statement, rows[start : start + 5000])


async def _crossings(
    session: AsyncSession,
    workspace_id: str,
    scoring: Scoring,
    changes: list[tuple[str, str, float, float]],
    now: datetime,
) -> list[Crossing]:
    if not scoring.thresholds or not changes:
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
