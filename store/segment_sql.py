"""Segment filters compiled to SQL (SQLAlchemy Core) for SQLite and PostgreSQL: one statement per segment.

The meaning is domain.segments.reference's; hypothesis tests hold the two together on both databases. JSON
values are compared by type as the reference does: SQLite's `json_type` / `json_extract`, PostgreSQL's
`json_typeof` / `#>>` (strings ordered byte-wise, `COLLATE "C"`, as Python orders them; numbers cast only when
they are numbers, inside a CASE). Event counts and score ranges are set-based subqueries (IN / NOT IN over the
contacts that have rows), never a correlated count per contact; when 0 satisfies the condition (`did not`,
`< 3`, a range containing 0) the query is the complement of the contacts that fail it.

A `Scope` restricts every subquery to the contacts being evaluated: a list (the dispatcher's batch) or an id
range (a chunk of the scheduled refresh), so re-evaluating one contact reads only that contact's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    Numeric,
    Select,
    Table,
    Text,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    union,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import SQLModel

from domain.journeys.conditions import is_number
from domain.segments.filters import (
    And,
    AttributeFilter,
    CompanyFilter,
    Comparison,
    ConsentFilter,
    ConsentSpec,
    CountCondition,
    EventFilter,
    FieldFilter,
    Filter,
    MembershipFilter,
    Not,
    Or,
    ScoreFilter,
    leaves,
)
from store.models import Contact, ContactScore, Event, Suppression
from store.models_companies import Company
from store.models_consent import ContactConsent
from store.models_segments import SegmentMembership

CONTACT: Table = SQLModel.metadata.tables[Contact.__tablename__]
EVENT: Table = SQLModel.metadata.tables[Event.__tablename__]
SCORE: Table = SQLModel.metadata.tables[ContactScore.__tablename__]
SUPPRESSION: Table = SQLModel.metadata.tables[Suppression.__tablename__]
MEMBERSHIP: Table = SQLModel.metadata.tables[SegmentMembership.__tablename__]
CONSENT: Table = SQLModel.metadata.tables[ContactConsent.__tablename__]
COMPANY: Table = SQLModel.metadata.tables[Company.__tablename__]

Bool = ColumnElement[bool]


@dataclass(frozen=True)
class Scope:
    """Which contacts to evaluate: all (the default), a list, or the id range (after, upto]."""

    contact_ids: Sequence[str] | None = None
    after: str | None = None
    upto: str | None = None
    among: Any = None  # a SELECT of contact ids (the contacts time may have moved in or out)

    def on(self, column: Any) -> list[Bool]:
        conditions: list[Bool] = []
        if self.among is not None:
            conditions.append(column.in_(self.among))
        if self.contact_ids is not None:
            conditions.append(column.in_(list(self.contact_ids)))
        if self.after is not None:
            conditions.append(column > self.after)
        if self.upto is not None:
            conditions.append(column <= self.upto)
        return conditions


EVERYONE = Scope()


def contacts_of_companies(workspace_id: str, company_ids: Sequence[str]) -> Select[tuple[str]]:
    """SELECT the ids of the contacts linked to these companies (a Scope's `among`)."""
    c = CONTACT.c
    # never correlated with the contact table of the query it scopes
    return select(c.id).where(c.workspace_id == workspace_id, c.company_id.in_(list(company_ids))).correlate(None)


class _Json:
    """Typed access to one value inside a JSON column."""

    def __init__(self, dialect: str, column: Any, path: str) -> None:
        self.pg = dialect == "postgresql"
        parts = path.split(".")
        if self.pg:
            array = cast(postgresql.array([literal(p) for p in parts]), ARRAY(Text))
            self.element: Any = column.op("#>", return_type=JSON)(array)
            self.type: Any = func.coalesce(func.json_typeof(self.element), "missing")
            self.text: Any = column.op("#>>", return_type=Text)(array)
        else:
            json_path = "$" + "".join('."' + p.replace('"', "") + '"' for p in parts)
            self.element = func.json_extract(column, json_path)
            self.type = func.coalesce(func.json_type(column, json_path), "missing")
            self.text = self.element
            self._column, self._path = column, json_path

    def present(self) -> Bool:
        result: Bool = self.type.not_in(("null", "missing"))
        return result

    def is_text(self) -> Bool:
        result: Bool = self.type == ("string" if self.pg else "text")
        return result

    def is_number(self) -> Bool:
        result: Bool = self.type == "number" if self.pg else self.type.in_(("integer", "real"))
        return result

    def is_array(self) -> Bool:
        result: Bool = self.type == "array"
        return result

    def number(self) -> Any:
        return case((self.is_number(), cast(self.text, Numeric)), else_=None) if self.pg else self.element

    def string(self) -> Any:
        return self.text.collate("C") if self.pg else self.text

    def eq(self, value: Any) -> Bool:
        if isinstance(value, bool):
            if self.pg:
                return and_(self.type == "boolean", self.text == ("true" if value else "false"))
            result: Bool = self.type == ("true" if value else "false")
            return result
        if is_number(value):
            return and_(self.is_number(), self.number() == value)
        return and_(self.is_text(), self.text == value)

    def element_eq(self, value: Any) -> Bool:
        """An element of the array equals `value` (guarded: only arrays are expanded)."""
        if self.pg:
            items = func.json_array_elements(self.element).table_valued("value").alias("je")
            item_type, item_text = (
                func.json_typeof(items.c.value),
                items.c.value.op("#>>", return_type=Text)(cast(postgresql.array([], type_=Text), ARRAY(Text))),
            )
            if isinstance(value, bool):
                match = and_(item_type == "boolean", item_text == ("true" if value else "false"))
            elif is_number(value):
                match = and_(item_type == "number", cast(item_text, Numeric) == value)
            else:
                match = and_(item_type == "string", item_text == value)
            found: Bool = exists(select(literal(1)).select_from(items).where(match))
        else:
            each = func.json_each(self._column, self._path).table_valued("value", "type").alias("je")
            if isinstance(value, bool):
                match = each.c.type == ("true" if value else "false")
            elif is_number(value):
                match = and_(each.c.type.in_(("integer", "real")), each.c.value == value)
            else:
                match = and_(each.c.type == "text", each.c.value == value)
            found = exists(select(literal(1)).select_from(each).where(match))
        return case((self.is_array(), found), else_=false())

    def compare(self, condition: Comparison) -> Bool:
        op, value = condition.op, condition.value
        if op == "exists":
            return self.present() if value is not False else not_(self.present())
        if op == "eq":
            return self.eq(value)
        if op == "neq":
            return and_(self.present(), not_(self.eq(value)))
        if op == "in":
            return or_(*(self.eq(v) for v in value)) if isinstance(value, list) else false()
        if op == "contains":
            if isinstance(value, str):
                position = func.strpos(self.text, value) if self.pg else func.instr(self.text, value)
                return or_(and_(self.is_text(), position > 0), self.element_eq(value))
            return self.element_eq(value)
        if is_number(value):
            return and_(self.is_number(), _ordered(self.number(), op, value))
        if isinstance(value, str):
            return and_(self.is_text(), _ordered(self.string(), op, value))
        return false()


def _ordered(left: Any, op: str, value: Any) -> Bool:
    result: Bool = {"gt": left > value, "gte": left >= value, "lt": left < value, "lte": left <= value}[op]
    return result


def _text(column: Any, op: str, value: Any, pg: bool) -> Bool:
    """A comparison on a nullable text column, with the reference's typing (only strings equal or order)."""
    present: Bool = column.is_not(None)
    if op == "exists":
        absent: Bool = column.is_(None)
        return present if value is not False else absent
    if op == "eq":
        return and_(present, column == value) if isinstance(value, str) else false()
    if op == "neq":
        return and_(present, column != value) if isinstance(value, str) else present
    if op == "in":
        options = [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
        return and_(present, column.in_(options)) if options else false()
    if op == "contains":
        if not isinstance(value, str):
            return false()
        position = func.strpos(column, value) if pg else func.instr(column, value)
        return and_(present, position > 0)
    if isinstance(value, str):
        return and_(present, _ordered(column.collate("C") if pg else column, op, value))
    return false()


def _count_holds(count: Any, condition: CountCondition) -> Bool:
    v = condition.value
    ops: dict[str, Bool] = {
        "eq": count == v,
        "neq": count != v,
        "gt": count > v,
        "gte": count >= v,
        "lt": count < v,
        "lte": count <= v,
    }
    return ops[condition.op]


def time_candidates(workspace_id: str, node: Filter, since: datetime, now: datetime) -> Any:
    """SELECT the contacts whose match time alone may have changed between `since` and `now`: those with an event
    that left a relative window in between, or a date field that crossed its cutoff. What else changes a match
    (events arriving, contact edits, scores, consent, other segments) reaches the dispatcher's consumer."""
    parts: list[Any] = []
    for leaf in leaves(node):
        if isinstance(leaf, EventFilter) and leaf.window is not None and leaf.window.relative:
            e = EVENT.c
            parts.append(
                select(e.contact_id).where(
                    e.workspace_id == workspace_id,
                    e.name == leaf.event,
                    e.contact_id.is_not(None),
                    e.timestamp >= leaf.window.start(since),
                    e.timestamp < leaf.window.start(now),
                )
            )
        elif isinstance(leaf, FieldFilter) and leaf.op in ("older_than", "within"):
            column = CONTACT.c[leaf.field]
            parts.append(
                select(CONTACT.c.id).where(
                    CONTACT.c.workspace_id == workspace_id,
                    column >= leaf.cutoff(since),
                    column < leaf.cutoff(now),
                )
            )
    if not parts:
        return None
    return union(*parts) if len(parts) > 1 else parts[0]


class FilterCompiler:
    def __init__(self, dialect: str, workspace_id: str, now: datetime, scope: Scope = EVERYONE) -> None:
        self.dialect, self.workspace_id, self.now, self.scope = dialect, workspace_id, now, scope

    @property
    def pg(self) -> bool:
        return self.dialect == "postgresql"

    def members(self, node: Filter) -> Select[tuple[str]]:
        """SELECT the ids of the workspace's contacts in scope that match; a merged contact (merged_into set) is
        never one: its rows live on in the survivor."""
        c = CONTACT.c
        where = (c.workspace_id == self.workspace_id, c.merged_into.is_(None), *self.scope.on(c.id))
        return select(c.id).where(*where, self.condition(node))

    def condition(self, node: Filter) -> Bool:
        if isinstance(node, And):
            return and_(*(self.condition(x) for x in node.all))
        if isinstance(node, Or):
            return or_(*(self.condition(x) for x in node.any))
        if isinstance(node, Not):
            return not_(self.condition(node.inner))
        if isinstance(node, AttributeFilter):
            return _Json(self.dialect, CONTACT.c.attributes, node.attribute).compare(node)
        if isinstance(node, FieldFilter):
            return self._field(node)
        if isinstance(node, EventFilter):
            return self._event(node)
        if isinstance(node, ScoreFilter):
            return self._score(node)
        if isinstance(node, ConsentFilter):
            return self._consent(node)
        if isinstance(node, CompanyFilter):
            return self._company(node)
        if isinstance(node, MembershipFilter):
            m = MEMBERSHIP.c
            return CONTACT.c.id.in_(
                select(m.contact_id).where(m.segment_id == node.segment, *self.scope.on(m.contact_id))
            )
        raise TypeError(f"unknown filter {node!r}")

    def _field(self, node: FieldFilter) -> Bool:
        column = CONTACT.c[node.field]
        if node.op == "older_than":
            return and_(column.is_not(None), column < node.cutoff(self.now))
        if node.op == "within":
            return and_(column.is_not(None), column >= node.cutoff(self.now))
        return _text(column, node.op, node.value, self.pg)

    def _company(self, node: CompanyFilter) -> Bool:
        """EXISTS the contact's company (of this workspace) satisfying the condition: false without a company."""
        k, condition = COMPANY.c, node.company
        path = condition.attribute_path
        if path is not None:
            holds = _Json(self.dialect, k.attributes, path).compare(condition)
        else:
            holds = _text(k[condition.field], condition.op, condition.value, self.pg)
        company = select(literal(1)).where(k.id == CONTACT.c.company_id, k.workspace_id == self.workspace_id, holds)
        return exists(company)

    def _event(self, node: EventFilter) -> Bool:
        e = EVENT.c
        conditions: list[Bool] = [
            e.workspace_id == self.workspace_id,
            e.name == node.event,
            e.contact_id.is_not(None),
            *self.scope.on(e.contact_id),
        ]
        if node.window is not None:
            conditions.append(e.timestamp >= node.window.start(self.now))
        conditions.extend(_Json(self.dialect, e.properties, p.property).compare(p) for p in node.where)
        counted = select(e.contact_id).where(*conditions).group_by(e.contact_id)
        if node.count.holds(0):
            # NOT EXISTS, never NOT IN: PostgreSQL turns it into a hash anti-join, where NOT IN over a set larger
            # than work_mem is re-scanned for every contact
            failing = counted.having(not_(_count_holds(func.count(), node.count))).subquery()
            return not_(exists(select(literal(1)).select_from(failing).where(failing.c.contact_id == CONTACT.c.id)))
        if (node.count.op == "gte" and node.count.value <= 1) or (node.count.op == "gt" and node.count.value == 0):
            return CONTACT.c.id.in_(select(e.contact_id).where(*conditions))
        return CONTACT.c.id.in_(counted.having(_count_holds(func.count(), node.count)))

    def _score(self, node: ScoreFilter) -> Bool:
        s = SCORE.c
        bounds: list[Bool] = []
        if node.gt is not None:
            bounds.append(s.score > node.gt)
        if node.gte is not None:
            bounds.append(s.score >= node.gte)
        if node.lt is not None:
            bounds.append(s.score < node.lt)
        if node.lte is not None:
            bounds.append(s.score <= node.lte)
        base = [s.workspace_id == self.workspace_id, s.score_group == node.score, *self.scope.on(s.contact_id)]
        if node.holds(0.0):
            return not_(exists(select(literal(1)).where(*base, s.contact_id == CONTACT.c.id, not_(and_(*bounds)))))
        return CONTACT.c.id.in_(select(s.contact_id).where(*base, *bounds))

    def _consent(self, node: ConsentFilter) -> Bool:
        if isinstance(node.consent, ConsentSpec):
            return self._recorded_consent(node.consent)
        address = CONTACT.c.email if node.consent == "email" else CONTACT.c.phone
        s = SUPPRESSION.c
        suppressed = exists(
            select(literal(1)).where(
                s.workspace_id == self.workspace_id, s.channel == node.consent, s.address == address
            )
        )
        has_address = and_(address.is_not(None), address != "")
        return and_(has_address, suppressed if node.state == "suppressed" else not_(suppressed))

    def _recorded_consent(self, spec: ConsentSpec) -> Bool:
        k = CONSENT.c
        where = [
            k.workspace_id == self.workspace_id, k.channel == spec.channel, k.topic == (spec.topic or ""),
            *self.scope.on(k.contact_id),
        ]  # fmt: skip
        if spec.status == "unknown":
            return CONTACT.c.id.not_in(select(k.contact_id).where(*where))
        return CONTACT.c.id.in_(select(k.contact_id).where(*where, k.status == spec.status))
