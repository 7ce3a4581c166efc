"""The SQL both scoring paths share: rule filters over event properties, the grant statement and the decayed sum.

The real-time consumer and the batch recompute call the same builders (only the event scope differs: the
batch's event ids, or a chunk of contacts), so they grant the same ledger rows and compute the same scores; see
domain/scoring/decay.py for why the decay is integer arithmetic.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Select,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
)
from sqlalchemy import Table as SaTable
from sqlmodel import SQLModel

from domain.journeys.conditions import PropertyFilter, is_number
from domain.scoring.decay import MAX_SHIFT, SCALE_BITS, STEPS, STEPS_PER_HALF_LIFE
from store.models import Event
from store.models_scoring import ScoreLedger

EVENT: SaTable = SQLModel.metadata.tables[Event.__tablename__]
LEDGER: SaTable = SQLModel.metadata.tables[ScoreLedger.__tablename__]

_NUMBER: dict[str, tuple[str, ...]] = {"sqlite": ("integer", "real"), "postgresql": ("number",)}
_STRING: dict[str, tuple[str, ...]] = {"sqlite": ("text",), "postgresql": ("string",)}


class _Json:
    """The value and JSON type of a dotted path in a JSON column, per dialect."""

    def __init__(self, dialect: str, column: Any, path: str) -> None:
        self.dialect = dialect
        parts = path.split(".")
        if dialect == "postgresql":
            self.type: ColumnElement[Any] = func.json_typeof(func.json_extract_path(column, *parts))
            self.text: ColumnElement[Any] = func.json_extract_path_text(column, *parts)
        else:
            json_path = "$" + "".join('."' + part.replace('"', '\\"') + '"' for part in parts)
            self.type = func.json_type(column, json_path)
            self.text = func.json_extract(column, json_path)

    def typed(self, kinds: dict[str, tuple[str, ...]]) -> ColumnElement[bool]:
        return self.type.in_(kinds[self.dialect])

    def eq(self, value: Any) -> ColumnElement[bool]:
        if is_number(value):
            return and_(self.typed(_NUMBER), cast(self.text, Float) == float(value))
        if isinstance(value, str):
            return and_(self.typed(_STRING), self.text == value)
        if isinstance(value, bool):
            if self.dialect == "postgresql":
                return and_(self.type == "boolean", self.text == ("true" if value else "false"))
            return self.type == ("true" if value else "false")
        return false()

    def ordered(self, value: Any, op: str) -> ColumnElement[bool]:
        left: Any
        right: Any
        if is_number(value):
            kinds, left, right = _NUMBER, cast(self.text, Float), float(value)
        elif isinstance(value, str):
            kinds, right = _STRING, value
            left = self.text.collate("C") if self.dialect == "postgresql" else self.text
        else:
            return false()
        compare = {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[op]
        return and_(self.typed(kinds), compare)


def _strict(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """NULL (missing path) as false, so NOT behaves."""
    return case((condition, true()), else_=false()) == true()


def filter_clause(dialect: str, column: Any, condition: PropertyFilter) -> ColumnElement[bool]:
    """PropertyFilter semantics in SQL (domain/journeys/definition.py), `contains` on strings only."""
    value = _Json(dialect, column, condition.property)
    present = and_(value.type.is_not(None), value.type != "null")
    if condition.op == "exists":
        return _strict(present) if condition.value is not False else not_(_strict(present))
    if condition.op == "eq":
        return _strict(value.eq(condition.value))
    if condition.op == "neq":
        return and_(value.type.is_not(None), not_(_strict(value.eq(condition.value))))
    if condition.op == "in":
        options = condition.value if isinstance(condition.value, list) else []
        return _strict(or_(false(), *(value.eq(option) for option in options)))
    if condition.op == "contains":
        if not isinstance(condition.value, str):
            return false()
        position = (
            func.strpos(value.text, condition.value)
            if dialect == "postgresql"
            else func.instr(value.text, condition.value)
        )
        return _strict(and_(value.typed(_STRING), position > 0))
    return _strict(value.ordered(condition.value, condition.op))


def epoch_hour(dialect: str, column: Any) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return cast(func.floor(func.extract("epoch", column) / 3600), Integer)
    return cast(func.strftime("%s", column), Integer) // 3600


def decayed_value(reference_hour: int) -> ColumnElement[int]:
    """domain.scoring.decay.decayed over ledger rows, in integer SQL (the same on SQLite and PostgreSQL)."""
    c = LEDGER.c
    age = literal(reference_hour, Integer) - c.granted_hour
    steps = case((age > 0, age * STEPS_PER_HALF_LIFE // c.half_life_hours), else_=0)
    whole = SCALE_BITS + steps // STEPS_PER_HALF_LIFE
    shift = case((whole > MAX_SHIFT, MAX_SHIFT), else_=whole)
    multiplier = case(*((steps % STEPS_PER_HALF_LIFE == k, STEPS[k]) for k in range(1, 8)), else_=STEPS[0])
    shifted = (c.points_micro * multiplier).op(">>")(shift)
    return case((c.half_life_hours.is_(None), c.points_micro), else_=shifted)


def grant_select(
    dialect: str,
    workspace_id: str,
    rule_id: str,
    group: str,
    event_name: str,
    where: list[PropertyFilter],
    points_micro: int,
    cap_micro: int | None,
    window_hours: int | None,
    half_life_hours: int | None,
    reason: str,
    scope: ColumnElement[bool],
    now: Any,
    empty_ledger: bool = False,
) -> Select[Any]:
    """The ledger rows a rule grants for the events in `scope` it has not granted yet, cap applied in
    (timestamp, id) order after what the ledger already holds in each window.

    `empty_ledger`: the caller (the recompute, which has just deleted the scope's rows) knows the ledger holds
    nothing for these contacts, so the is-it-granted and already-in-the-window lookups (0 and false there) are
    left out; the rows are the same, a lookup per event cheaper."""
    e = EVENT.c
    hour = epoch_hour(dialect, e.timestamp)
    window = (hour // window_hours) if window_hours else null()
    ungranted = not_(exists().where(LEDGER.c.rule_id == rule_id, LEDGER.c.event_id == e.id))
    conditions = [e.workspace_id == workspace_id, e.name == event_name, e.contact_id.is_not(None), scope]
    if not empty_ledger:
        conditions.append(ungranted)
    conditions += [filter_clause(dialect, e.properties, condition) for condition in where]
    columns: list[Any] = [e.id.label("event_id"), e.contact_id.label("contact_id"), hour.label("hour")]
    if cap_micro is not None:
        columns.append(window.label("win"))
        columns.append(
            func.row_number().over(partition_by=(e.contact_id, window), order_by=(e.timestamp, e.id)).label("rn")
        )
    events = select(*columns).where(*conditions).subquery("candidates")
    magnitude: Any = abs(points_micro)
    if cap_micro is not None:
        prior: Any = (
            literal(0, BigInteger)
            if empty_ledger
            else (
                select(func.coalesce(func.sum(func.abs(LEDGER.c.points_micro)), 0))
                .where(
                    LEDGER.c.rule_id == rule_id,
                    LEDGER.c.contact_id == events.c.contact_id,
                    LEDGER.c.cap_window == events.c.win,
                )
                .scalar_subquery()
            )
        )
        left = literal(cap_micro, BigInteger) - prior - (events.c.rn - 1) * abs(points_micro)
        magnitude = case((left >= abs(points_micro), abs(points_micro)), (left > 0, left), else_=0)
    granted = magnitude if points_micro >= 0 else -magnitude
    capped = case((magnitude < abs(points_micro), " (capped)"), else_="") if cap_micro is not None else literal("")
    query = select(
        literal(workspace_id).label("workspace_id"),
        events.c.contact_id,
        literal(group).label("score_group"),
        literal(rule_id).label("rule_id"),
        events.c.event_id,
        cast(granted, BigInteger).label("points_micro"),
        events.c.hour.label("granted_hour"),
        literal(half_life_hours, Integer).label("half_life_hours"),
        (events.c.win if cap_micro is not None else null()).label("cap_window"),
        (literal(reason) + capped).label("reason"),
        literal(now, LEDGER.c.created_at.type).label("created_at"),
    )
    if cap_micro is not None:
        query = query.where(magnitude > 0)
    return query


LEDGER_COLUMNS = (
    "workspace_id",
    "contact_id",
    "score_group",
    "rule_id",
    "event_id",
    "points_micro",
    "granted_hour",
    "half_life_hours",
    "cap_window",
    "reason",
    "created_at",
)


RULES: SaTable = SQLModel.metadata.tables["score_rule"]
