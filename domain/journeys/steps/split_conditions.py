"""The conditions of a journey's condition split, and their evaluation over the facts read for one contact.

A condition is one of (the pinned JSON shapes):

- `{"attribute": {"property": "plan", "op": "eq", "value": "pro"}}`: a contact field or custom attribute, with the
  journeys' property filter (domain/journeys/conditions.py: typed comparisons, a missing value matches nothing but
  `exists: false`);
- `{"segment": "sg_x", "member": true}`: in (or, `member: false`, not in) a segment now;
- `{"score": {"group": "lead", "op": "gte", "value": 10}}`: the contact's score in a group (no score: 0);
- `{"event": {"name": "Viewed Pricing", "where": [...], "within": "P7D", "min_count": 2}}`: at least `min_count`
  such events (all time without `within`);
- `{"engagement": {"step": "welcome", "action": "opened"}}`: the message this run sent at that step of the journey
  was delivered, opened or clicked (a click implies the open, an open the delivery);
- `{"all": [conditions]}`, `{"any": [conditions]}`.

Evaluation is pure: the split's activity (activities/journeys/conditions.py) reads what `needs` lists into a
`SplitFacts`, and `decide` picks the first branch whose condition holds, with the reason in words
("score lead=42 >= 10"). The facts travel into the step's record, so the explain timeline shows what was seen.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Discriminator, Field, StringConstraints, Tag

from domain.journeys.conditions import PropertyFilter, Strict
from domain.journeys.durations import WaitDuration
from domain.journeys.steps.base import StepId
from domain.scoring.rules import GROUP_PATTERN, MAX_POINTS

MAX_CONDITION_DEPTH = 5
MAX_CONDITIONS = 50  # leaves per split, all branches together
SEND_ACTIONS = ("delivered", "opened", "clicked")
# What each engagement action is satisfied by: a click implies an open, an open implies the delivery.
IMPLIED_BY: dict[str, tuple[str, ...]] = {
    "delivered": ("delivered", "opened", "clicked"),
    "opened": ("opened", "clicked"),
    "clicked": ("clicked",),
}
CompareOp = Literal["eq", "neq", "gt", "gte", "lt", "lte"]
_SYMBOL = {"eq": "=", "neq": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
SegmentId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class AttributeCondition(Strict):
    attribute: PropertyFilter


class SegmentCondition(Strict):
    segment: SegmentId
    member: bool = True


class ScoreTest(Strict):
    group: Annotated[str, StringConstraints(pattern=GROUP_PATTERN)]
    op: CompareOp
    value: Annotated[float, Field(ge=-MAX_POINTS, le=MAX_POINTS, allow_inf_nan=False)]


class ScoreCondition(Strict):
    score: ScoreTest


class EventHistory(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    where: list[PropertyFilter] = Field(default_factory=list, max_length=20)
    within: WaitDuration | None = None
    min_count: Annotated[int, Field(ge=1, le=1_000_000)] = 1

    def key(self) -> str:
        """The fact key of this count: the event, its window and its filters (not min_count: facts are counts)."""
        text = self.name
        if self.within is not None:
            text += f" within {int(self.within.total_seconds())}s"
        if self.where:
            text += " where " + json.dumps([w.model_dump(mode="json") for w in self.where], sort_keys=True)
        return text


class EventCondition(Strict):
    event: EventHistory


class EngagementTest(Strict):
    step: StepId
    action: Literal["delivered", "opened", "clicked"]


class EngagementCondition(Strict):
    engagement: EngagementTest


class AllCondition(Strict):
    all: list[Condition] = Field(min_length=1, max_length=MAX_CONDITIONS)


class AnyCondition(Strict):
    any: list[Condition] = Field(min_length=1, max_length=MAX_CONDITIONS)


_KINDS = ("attribute", "segment", "score", "event", "engagement", "all", "any")


def _kind(value: Any) -> str | None:
    if isinstance(value, dict):
        present = [kind for kind in _KINDS if kind in value]
        return present[0] if len(present) == 1 else None
    for kind, model in _MODELS.items():
        if isinstance(value, model):
            return kind
    return None


Condition = Annotated[
    Union[  # noqa: UP007 (tagged members)
        Annotated[AttributeCondition, Tag("attribute")],
        Annotated[SegmentCondition, Tag("segment")],
        Annotated[ScoreCondition, Tag("score")],
        Annotated[EventCondition, Tag("event")],
        Annotated[EngagementCondition, Tag("engagement")],
        Annotated[AllCondition, Tag("all")],
        Annotated[AnyCondition, Tag("any")],
    ],
    Discriminator(
        _kind,
        custom_error_type="invalid_condition",
        custom_error_message="a condition has exactly one of: " + ", ".join(_KINDS),
    ),
]
_MODELS: dict[str, type[BaseModel]] = {
    "attribute": AttributeCondition,
    "segment": SegmentCondition,
    "score": ScoreCondition,
    "event": EventCondition,
    "engagement": EngagementCondition,
    "all": AllCondition,
    "any": AnyCondition,
}
AllCondition.model_rebuild()
AnyCondition.model_rebuild()

Leaf = AttributeCondition | SegmentCondition | ScoreCondition | EventCondition | EngagementCondition


def leaves(condition: Condition) -> Iterator[Leaf]:
    if isinstance(condition, AllCondition | AnyCondition):
        for child in condition.all if isinstance(condition, AllCondition) else condition.any:
            yield from leaves(child)
    else:
        yield condition


def depth(condition: Condition) -> int:
    if isinstance(condition, AllCondition):
        return 1 + max(depth(child) for child in condition.all)
    if isinstance(condition, AnyCondition):
        return 1 + max(depth(child) for child in condition.any)
    return 1


def check_conditions(conditions: list[Condition]) -> None:
    """Bounds on a split's conditions together (ValueError: the step's validator reports it on the node)."""
    if any(depth(c) > MAX_CONDITION_DEPTH for c in conditions):
        raise ValueError(f"conditions nest at most {MAX_CONDITION_DEPTH} deep")
    if sum(1 for c in conditions for _ in leaves(c)) > MAX_CONDITIONS:
        raise ValueError(f"a split has at most {MAX_CONDITIONS} conditions in all")


class SplitFacts(BaseModel):
    """What the split's activity read for the contact: only what its conditions name.

    `attributes` by property path, present values only (a missing key is a missing value); `scores` by group
    (absent: 0); `events` counts by `EventHistory.key()`; `engagement` the actions seen per send step."""

    contact_found: bool = True
    attributes: dict[str, Any] = Field(default_factory=dict)
    segments: dict[str, bool] = Field(default_factory=dict)
    scores: dict[str, float] = Field(default_factory=dict)
    events: dict[str, int] = Field(default_factory=dict)
    engagement: dict[str, list[str]] = Field(default_factory=dict)


@dataclass
class Needs:
    """What to read for a split: the union over its conditions."""

    attributes: set[str] = field(default_factory=set)
    segments: set[str] = field(default_factory=set)
    scores: set[str] = field(default_factory=set)
    events: dict[str, EventHistory] = field(default_factory=dict)
    engagement: set[str] = field(default_factory=set)


def needs(conditions: list[Condition]) -> Needs:
    found = Needs()
    for condition in conditions:
        for leaf in leaves(condition):
            if isinstance(leaf, AttributeCondition):
                found.attributes.add(leaf.attribute.property)
            elif isinstance(leaf, SegmentCondition):
                found.segments.add(leaf.segment)
            elif isinstance(leaf, ScoreCondition):
                found.scores.add(leaf.score.group)
            elif isinstance(leaf, EventCondition):
                found.events[leaf.event.key()] = leaf.event
            else:
                found.engagement.add(leaf.engagement.step)
    return found


def attribute_facts(values: dict[str, Any], paths: set[str]) -> dict[str, Any]:
    """The present values at these dotted paths of a contact's fields and attributes, by path."""
    found: dict[str, Any] = {}
    for path in sorted(paths):
        value: Any = values
        for part in path.split("."):
            if not isinstance(value, dict) or part not in value:
                break
            value = value[part]
        else:
            found[path] = value
    return found


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _span(length: timedelta) -> str:
    seconds = int(length.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _number(value: float) -> str:
    return f"{value:g}"


def _compare(actual: float, op: str, value: float) -> bool:
    return bool(
        {
            "eq": actual == value,
            "neq": actual != value,
            "gt": actual > value,
            "gte": actual >= value,
            "lt": actual < value,
            "lte": actual <= value,
        }[op]
    )


def _attribute(condition: PropertyFilter, facts: SplitFacts) -> tuple[bool, str]:
    path = condition.property
    # The filter's own semantics, on the one value read (stored flat, by path).
    probe = condition.model_copy(update={"property": "value"})
    present = path in facts.attributes
    held = probe.matches({"value": facts.attributes[path]} if present else {})
    seen = f"{path}={_shown(facts.attributes[path])}" if present else f"{path} (missing)"
    expected = condition.op if condition.value is None else f"{condition.op} {_shown(condition.value)}"
    return held, f"attribute {seen} {expected if held else 'not ' + expected}"


def _event(history: EventHistory, facts: SplitFacts) -> tuple[bool, str]:
    count = facts.events.get(history.key(), 0)
    held = count >= history.min_count
    window = f" within {_span(history.within)}" if history.within is not None else ""
    filtered = " (filtered)" if history.where else ""
    plural = "event" if count == 1 else "events"
    wanted = f"at least {history.min_count}" if held else f"fewer than {history.min_count}"
    return held, f"{count} {history.name!r}{filtered} {plural}{window}: {wanted}"


def _engagement(test: EngagementTest, facts: SplitFacts) -> tuple[bool, str]:
    seen = set(facts.engagement.get(test.step, ()))
    held = any(action in seen for action in IMPLIED_BY[test.action])
    verb = {"delivered": "was delivered", "opened": "was opened", "clicked": "was clicked"}[test.action]
    negated = verb.replace("was ", "was not ")
    return held, f"the message of step {test.step!r} {verb if held else negated}"


def explain(condition: Condition, facts: SplitFacts) -> tuple[bool, str]:
    """Whether the condition holds for these facts, and what was seen, in words."""
    if isinstance(condition, AttributeCondition):
        return _attribute(condition.attribute, facts)
    if isinstance(condition, SegmentCondition):
        member = facts.segments.get(condition.segment, False)
        return member is condition.member, f"{'in' if member else 'not in'} segment {condition.segment}"
    if isinstance(condition, ScoreCondition):
        test = condition.score
        score = facts.scores.get(test.group, 0.0)
        held = _compare(score, test.op, test.value)
        symbol = _SYMBOL[test.op]
        text = f"score {test.group}={_number(score)} {symbol if held else 'not ' + symbol} {_number(test.value)}"
        return held, text
    if isinstance(condition, EventCondition):
        return _event(condition.event, facts)
    if isinstance(condition, EngagementCondition):
        return _engagement(condition.engagement, facts)
    if isinstance(condition, AllCondition):
        parts = [explain(child, facts) for child in condition.all]
        failing = [text for held, text in parts if not held]
        return (not failing), " and ".join(text for _, text in parts) if not failing else failing[0]
    parts = [explain(child, facts) for child in condition.any]
    holding = [text for held, text in parts if held]
    return bool(holding), holding[0] if holding else "none of: " + "; ".join(text for _, text in parts)


@dataclass(frozen=True)
class SplitDecision:
    branch: int | None  # None: the default
    reason: str


MAX_REASON = 1000


def decide(conditions: list[Condition], facts: SplitFacts) -> SplitDecision:
    """The first branch whose condition holds (in the order written), else the default."""
    if not facts.contact_found:
        return SplitDecision(None, "the contact no longer exists: default")
    missed = []
    for index, condition in enumerate(conditions):
        held, text = explain(condition, facts)
        if held:
            return SplitDecision(index, text[:MAX_REASON])
        missed.append(f"branch {index}: {text}")
    return SplitDecision(None, ("no branch matched: " + "; ".join(missed))[:MAX_REASON])
