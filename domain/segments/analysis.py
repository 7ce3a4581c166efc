"""What a parsed segment filter reads and depends on: the contact fields it names (for field policies), what can
change its membership (for the dispatcher's consumers) and cycles through the segments it reads."""

from __future__ import annotations

from dataclasses import dataclass

from domain.access.fields import ATTRIBUTES
from domain.access.fields import COLUMNS as POLICY_COLUMNS
from domain.segments.filters import (
    DATE_FIELDS,
    AttributeFilter,
    CompanyFilter,
    ConsentFilter,
    EventFilter,
    FieldFilter,
    Filter,
    MembershipFilter,
    ScoreFilter,
    leaves,
)


def contact_fields(node: Filter) -> list[str]:
    """The contact fields the filter reads, named as field policies name them (domain/access/fields.py): a column,
    or `attributes.<name>` for an attribute path's first part; in filter order, once each. The date fields are not
    policy fields."""
    names: list[str] = []
    for leaf in leaves(node):
        if isinstance(leaf, FieldFilter) and leaf.field in POLICY_COLUMNS:
            names.append(leaf.field)
        elif isinstance(leaf, AttributeFilter):
            names.append(f"{ATTRIBUTES}.{leaf.attribute.split('.', 1)[0]}")
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class Dependencies:
    """What can change a segment's membership: which event names it counts, whether contact fields or consent
    matter, whether scores matter, which segments it reads, whether time alone can change it, and whether the
    contacts' companies matter."""

    event_names: frozenset[str]
    contact_fields: bool
    consent: bool
    scores: bool
    segments: frozenset[str]
    time_based: bool
    companies: bool = False


def dependencies(node: Filter) -> Dependencies:
    found = leaves(node)
    return Dependencies(
        event_names=frozenset(x.event for x in found if isinstance(x, EventFilter)),
        contact_fields=any(isinstance(x, AttributeFilter | FieldFilter) for x in found),
        consent=any(isinstance(x, ConsentFilter) for x in found),
        scores=any(isinstance(x, ScoreFilter) for x in found),
        segments=frozenset(x.segment for x in found if isinstance(x, MembershipFilter)),
        time_based=any(
            (isinstance(x, EventFilter) and x.window is not None and x.window.relative)
            or (isinstance(x, FieldFilter) and x.field in DATE_FIELDS)
            for x in found
        ),
        companies=any(isinstance(x, CompanyFilter) for x in found),
    )


def find_cycle(start: str, reads: dict[str, frozenset[str]]) -> list[str] | None:
    """A path start -> ... -> start through the segments each segment reads, or None."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        current, trail = stack.pop()
        for nxt in reads.get(current, frozenset()):
            if nxt == start:
                return [*trail, nxt]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*trail, nxt]))
    return None
