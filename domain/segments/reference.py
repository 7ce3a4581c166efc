"""A plain-Python evaluator of segment filters over in-memory contacts: the meaning the SQL compiler must match.

Used by tests (hypothesis compares it with the SQL over random contacts, events and filters), never to evaluate
a segment in production.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.journeys.conditions import is_number
from domain.segments.filters import (
    And,
    AttributeFilter,
    CompanyFilter,
    Comparison,
    ConsentFilter,
    ConsentSpec,
    EventFilter,
    FieldFilter,
    Filter,
    MembershipFilter,
    Not,
    Or,
    ScoreFilter,
)

_MISSING = object()


@dataclass
class RefContact:
    id: str
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    timezone: str | None = None
    external_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    company_id: str | None = None
    merged_into: str | None = None  # a merged contact is in no segment


@dataclass
class RefCompany:
    id: str
    name: str
    domain: str | None = None
    external_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class RefEvent:
    contact_id: str
    name: str
    timestamp: datetime
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class World:
    contacts: list[RefContact]
    events: list[RefEvent] = field(default_factory=list)
    scores: dict[tuple[str, str], float] = field(default_factory=dict)  # (contact, group) -> score
    suppressed: set[tuple[str, str]] = field(default_factory=set)  # (channel, address)
    memberships: dict[str, set[str]] = field(default_factory=dict)  # segment -> contact ids
    consents: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (contact, channel, topic) -> status
    companies: dict[str, RefCompany] = field(default_factory=dict)  # by id


def resolve(document: Mapping[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return _MISSING if value is None else value


def _same(a: object, b: object) -> bool:
    if is_number(a) and is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def compare(actual: Any, condition: Comparison) -> bool:
    op, expected = condition.op, condition.value
    if op == "exists":
        return (actual is not _MISSING) is (expected is not False)
    if actual is _MISSING:
        return False
    if op == "eq":
        return _same(actual, expected)
    if op == "neq":
        return not _same(actual, expected)
    if op == "in":
        return isinstance(expected, list) and any(_same(actual, option) for option in expected)
    if op == "contains":
        if isinstance(actual, str):
            return isinstance(expected, str) and expected in actual
        return isinstance(actual, list) and any(_same(item, expected) for item in actual)
    comparable = (is_number(actual) and is_number(expected)) or (isinstance(actual, str) and isinstance(expected, str))
    if not comparable:
        return False
    a: Any = actual
    b: Any = expected
    return bool({"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op])


def _field(contact: RefContact, condition: FieldFilter, now: datetime) -> bool:
    value = getattr(contact, condition.field)
    if condition.op in ("older_than", "within"):
        if value is None:
            return False
        cutoff = condition.cutoff(now)
        return bool(value < cutoff) if condition.op == "older_than" else bool(value >= cutoff)
    return compare(_MISSING if value is None else value, condition.comparison())


def _count(world: World, contact: RefContact, condition: EventFilter, now: datetime) -> int:
    start = condition.window.start(now) if condition.window else None
    return sum(
        1
        for e in world.events
        if e.contact_id == contact.id
        and e.name == condition.event
        and (start is None or e.timestamp >= start)
        and all(compare(resolve(e.properties, p.property), p) for p in condition.where)
    )


def _address(contact: RefContact, channel: str) -> str | None:
    value = contact.email if channel == "email" else contact.phone
    return value or None


def _company(world: World, contact: RefContact, node: CompanyFilter) -> bool:
    company = world.companies.get(contact.company_id) if contact.company_id is not None else None
    if company is None:
        return False  # no company: no company condition holds, not even `exists: false`
    condition = node.company
    path = condition.attribute_path
    if path is not None:
        return compare(resolve(company.attributes, path), condition)
    value = getattr(company, condition.field)
    return compare(_MISSING if value is None else value, condition)


def matches(world: World, contact: RefContact, node: Filter, now: datetime) -> bool:
    if isinstance(node, And):
        return all(matches(world, contact, c, now) for c in node.all)
    if isinstance(node, Or):
        return any(matches(world, contact, c, now) for c in node.any)
    if isinstance(node, Not):
        return not matches(world, contact, node.inner, now)
    if isinstance(node, AttributeFilter):
        return compare(resolve(contact.attributes, node.attribute), node)
    if isinstance(node, FieldFilter):
        return _field(contact, node, now)
    if isinstance(node, EventFilter):
        return node.count.holds(_count(world, contact, node, now))
    if isinstance(node, ScoreFilter):
        return node.holds(world.scores.get((contact.id, node.score), 0.0))
    if isinstance(node, ConsentFilter):
        if isinstance(node.consent, ConsentSpec):
            spec = node.consent
            return world.consents.get((contact.id, spec.channel, spec.topic or ""), "unknown") == spec.status
        address = _address(contact, node.consent)
        suppressed = address is not None and (node.consent, address) in world.suppressed
        return suppressed if node.state == "suppressed" else (address is not None and not suppressed)
    if isinstance(node, MembershipFilter):
        return contact.id in world.memberships.get(node.segment, set())
    if isinstance(node, CompanyFilter):
        return _company(world, contact, node)
    raise TypeError(f"unknown filter {node!r}")


def members(world: World, node: Filter, now: datetime, contacts: Iterable[RefContact] | None = None) -> set[str]:
    chosen = world.contacts if contacts is None else contacts
    return {c.id for c in chosen if c.merged_into is None and matches(world, c, node, now)}
