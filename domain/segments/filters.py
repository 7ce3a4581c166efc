"""The segment filter model: conditions on a contact, combined with and / or / not.

A filter is JSON; `parse_filter` is the only way it becomes a `Filter`, and it reports the first problem as a
`SegmentFilterError` naming the path (`filter.and[2].window`) and a stable code. The shapes:

- `{"and": [...]}`, `{"or": [...]}`, `{"not": {...}}`, nested at most MAX_DEPTH deep;
- `{"attribute": "plan.tier", "op": "eq", "value": "pro"}`: a custom attribute (dotted path into the JSON);
- `{"field": "email", "op": "contains", "value": "@example.com"}`: a contact field; the date fields
  (`created_at`, `updated_at`) take `{"op": "older_than" | "within", "days": 30}` relative to now;
- `{"event": "viewed", "where": [{"property": "path", "op": "eq", "value": "/pricing"}],
  "count": {"op": "gte", "value": 3}, "window": {"days": 7}}`: how often the contact did something (count
  defaults to at least once; `{"op": "eq", "value": 0}` with `"window": {"since": "2026-01-01T00:00:00Z"}` is
  "did not do X since Y"; no window: ever);
- `{"score": "total", "gte": 10, "lt": 50}`: a score range, total or per group (no score: 0);
- `{"consent": "email" | "sms", "state": "subscribed" | "suppressed"}`: reachable (an address and no suppression)
  or on the suppression list;
- `{"consent": {"channel": "email" | "sms" | "push", "topic": "news", "status": "granted"}}`: the recorded
  consent (domain/consent) of the channel, or of one of its topics; status granted, pending, withdrawn or unknown
  (nothing recorded);
- `{"segment": "sg_..."}`: a member of another segment (cycles are refused when a segment is saved);
- `{"company": {"field": "name" | "domain" | "external_id" | "id" | "attributes.<path>", "op": ..., "value": ...}}`:
  a field or custom attribute of the contact's company, compared as contact fields and attributes are. A contact
  without a company matches no company condition (not even `exists: false`; `{"not": {"company": {"field": "id",
  "op": "exists"}}}` is "has no company").

Typed comparisons follow the journeys' property filters: numbers compare with numbers, strings with strings,
booleans only for equality; a missing or null value matches nothing except `exists: false`; `neq` is true for a
present value of another type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationError,
    model_validator,
)

from domain.journeys.conditions import is_number
from domain.json_limits import require_storable

MAX_DEPTH = 6
MAX_CHILDREN = 50
MAX_NODES = 200
MAX_IN_VALUES = 500
INVALID = "invalid_segment_filter"
TOO_DEEP = "segment_filter_too_deep"
TOO_LARGE = "segment_filter_too_large"

ValueOp = Literal["eq", "neq", "gt", "gte", "lt", "lte", "contains", "exists", "in"]
DateOp = Literal["older_than", "within"]
TEXT_FIELDS = ("email", "phone", "first_name", "last_name", "timezone", "external_id")
DATE_FIELDS = ("created_at", "updated_at")
PathPart = r"^[A-Za-z0-9_$@:-]{1,64}(\.[A-Za-z0-9_$@:-]{1,64}){0,7}$"
Scalar = str | bool | int | float


class SegmentFilterError(ValueError):
    def __init__(self, path: str, message: str, code: str = INVALID) -> None:
        super().__init__(f"{path}: {message}")
        self.path, self.message, self.code = path, message, code


class _Leaf(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Comparison(_Leaf):
    """`op` with `value` on one JSON value (an attribute or an event property)."""

    op: ValueOp
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="after")
    def _fits(self) -> Comparison:
        v = self.value
        if isinstance(v, float) and v != v:
            raise ValueError("value must be a finite number")
        if self.op == "exists":
            if not isinstance(v, bool | None):
                raise ValueError("op 'exists' takes true, false or no value")
        elif self.op == "in":
            if not isinstance(v, list) or not v or len(v) > MAX_IN_VALUES:
                raise ValueError(f"op 'in' needs a list of 1 to {MAX_IN_VALUES} values")
        elif self.op in ("gt", "gte", "lt", "lte"):
            if not (is_number(v) or isinstance(v, str)):
                raise ValueError(f"op '{self.op}' needs a number or string value")
        elif v is None or isinstance(v, list):
            raise ValueError(f"op '{self.op}' needs a string, number or boolean value")
        require_storable(v)
        return self


class AttributeFilter(Comparison):
    attribute: Annotated[str, StringConstraints(pattern=PathPart)]


class FieldFilter(_Leaf):
    field: Literal["email", "phone", "first_name", "last_name", "timezone", "external_id", "created_at", "updated_at"]
    op: ValueOp | DateOp
    value: Scalar | list[Scalar] | None = None
    days: Annotated[float, Field(gt=0, le=36500)] | None = None

    @model_validator(mode="after")
    def _fits(self) -> FieldFilter:
        if self.field in DATE_FIELDS:
            if self.op not in ("older_than", "within") or self.days is None or self.value is not None:
                raise ValueError(f"{self.field} takes op 'older_than' or 'within' with 'days'")
        else:
            if self.op in ("older_than", "within") or self.days is not None:
                raise ValueError(f"{self.field} is text: op eq, neq, gt, gte, lt, lte, contains, exists or in")
            self.comparison()
        return self

    def comparison(self) -> Comparison:
        return Comparison(op=self.op, value=self.value)

    def cutoff(self, now: datetime) -> datetime:
        return now - timedelta(days=self.days or 0)


class Window(_Leaf):
    """Events from `days` (or `hours`) ago until now, or since an instant."""

    days: Annotated[float, Field(gt=0, le=3650)] | None = None
    hours: Annotated[float, Field(gt=0, le=87600)] | None = None
    since: datetime | None = None

    @model_validator(mode="after")
    def _one(self) -> Window:
        if sum(x is not None for x in (self.days, self.hours, self.since)) != 1:
            raise ValueError("give exactly one of days, hours or since")
        if self.since is not None and self.since.tzinfo is None:
            raise ValueError("since needs a time zone (e.g. 2026-01-01T00:00:00Z)")
        return self

    @property
    def relative(self) -> bool:
        return self.since is None

    def start(self, now: datetime) -> datetime:
        if self.since is not None:
            return self.since
        return now - timedelta(days=self.days or 0, hours=self.hours or 0)


class PropertyCondition(Comparison):
    property: Annotated[str, StringConstraints(pattern=PathPart)]


class CountCondition(_Leaf):
    op: Literal["eq", "neq", "gt", "gte", "lt", "lte"] = "gte"
    value: Annotated[int, Field(ge=0, le=1_000_000)] = 1

    def holds(self, count: int) -> bool:
        v = self.value
        return {
            "eq": count == v,
            "neq": count != v,
            "gt": count > v,
            "gte": count >= v,
            "lt": count < v,
            "lte": count <= v,
        }[self.op]


class EventFilter(_Leaf):
    event: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    where: Annotated[list[PropertyCondition], Field(max_length=20)] = []
    count: CountCondition = CountCondition()
    window: Window | None = None


class ScoreFilter(_Leaf):
    score: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_ .:-]{1,64}$")] = "total"
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> ScoreFilter:
        if all(x is None for x in (self.gt, self.gte, self.lt, self.lte)):
            raise ValueError("give at least one of gt, gte, lt, lte")
        return self

    def holds(self, score: float) -> bool:
        return (
            (self.gt is None or score > self.gt)
            and (self.gte is None or score >= self.gte)
            and (self.lt is None or score < self.lt)
            and (self.lte is None or score <= self.lte)
        )


_CHANNEL_TAG, _RECORD_TAG = "channel_name", "recorded"  # union branches, left out of error paths


class ConsentSpec(_Leaf):
    """A consent record's status (domain/consent): `unknown` is no record for that channel (and topic)."""

    channel: Literal["email", "sms", "push"]
    topic: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")] | None = None
    status: Literal["granted", "pending", "withdrawn", "unknown"]


class ConsentFilter(_Leaf):
    """`{"consent": "email", "state": "subscribed"}` (reachability against the suppression list) or
    `{"consent": {"channel": "email", "topic": "news", "status": "granted"}}` (the recorded consent)."""

    consent: Annotated[
        Annotated[Literal["email", "sms"], Tag(_CHANNEL_TAG)] | Annotated[ConsentSpec, Tag(_RECORD_TAG)],
        Discriminator(lambda v: _RECORD_TAG if isinstance(v, dict | ConsentSpec) else _CHANNEL_TAG),
    ]
    state: Literal["subscribed", "suppressed"] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> ConsentFilter:
        if isinstance(self.consent, str) and self.state is None:
            raise ValueError("a channel consent filter takes 'state': subscribed or suppressed")
        if isinstance(self.consent, ConsentSpec) and self.state is not None:
            raise ValueError("a recorded-consent filter takes its status inside 'consent', no 'state'")
        return self


COMPANY_FIELDS = ("id", "name", "domain", "external_id")


class CompanyCondition(Comparison):
    field: Annotated[str, StringConstraints(max_length=200)]

    @model_validator(mode="after")
    def _known(self) -> CompanyCondition:
        path = self.attribute_path
        if self.field not in COMPANY_FIELDS and (path is None or re.fullmatch(PathPart, path) is None):
            raise ValueError(f"unknown company field {self.field!r}: {', '.join(COMPANY_FIELDS)} or attributes.<name>")
        return self

    @property
    def attribute_path(self) -> str | None:
        return self.field.removeprefix("attributes.") if self.field.startswith("attributes.") else None


class CompanyFilter(_Leaf):
    company: CompanyCondition


class MembershipFilter(_Leaf):
    segment: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]


@dataclass(frozen=True)
class And:
    all: tuple[Filter, ...]


@dataclass(frozen=True)
class Or:
    any: tuple[Filter, ...]


@dataclass(frozen=True)
class Not:
    inner: Filter


Leaf = AttributeFilter | FieldFilter | EventFilter | ScoreFilter | ConsentFilter | MembershipFilter | CompanyFilter
Filter = And | Or | Not | Leaf

_LEAVES: dict[str, type[_Leaf]] = {
    "attribute": AttributeFilter,
    "field": FieldFilter,
    "event": EventFilter,
    "score": ScoreFilter,
    "consent": ConsentFilter,
    "segment": MembershipFilter,
    "company": CompanyFilter,
}


def _where(path: str, loc: tuple[int | str, ...]) -> str:
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def parse_filter(raw: Any, path: str = "filter") -> Filter:
    """The filter `raw` describes, or SegmentFilterError naming the first bad node."""
    counter = [0]
    return _parse(raw, path, 1, counter)


def _parse(raw: Any, path: str, depth: int, counter: list[int]) -> Filter:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise SegmentFilterError(path, f"a filter has at most {MAX_NODES} conditions", TOO_LARGE)
    if depth > MAX_DEPTH:
        raise SegmentFilterError(path, f"filters nest at most {MAX_DEPTH} levels deep", TOO_DEEP)
    if not isinstance(raw, dict):
        raise SegmentFilterError(path, "must be an object")
    for key in ("and", "or"):
        if key in raw:
            if len(raw) != 1:
                raise SegmentFilterError(path, f"'{key}' takes no sibling keys")
            children = raw[key]
            if not isinstance(children, list) or not 1 <= len(children) <= MAX_CHILDREN:
                raise SegmentFilterError(f"{path}.{key}", f"must be a list of 1 to {MAX_CHILDREN} filters")
            parsed = tuple(_parse(c, f"{path}.{key}[{i}]", depth + 1, counter) for i, c in enumerate(children))
            return And(parsed) if key == "and" else Or(parsed)
    if "not" in raw:
        if len(raw) != 1:
            raise SegmentFilterError(path, "'not' takes no sibling keys")
        return Not(_parse(raw["not"], f"{path}.not", depth + 1, counter))
    kinds = [key for key in _LEAVES if key in raw]
    if len(kinds) != 1:
        raise SegmentFilterError(path, f"must have exactly one of and, or, not, {', '.join(_LEAVES)}")
    try:
        leaf: Leaf = _LEAVES[kinds[0]].model_validate(raw)  # type: ignore[assignment]
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(
            p
            for p in first["loc"]
            if not (isinstance(p, str) and (p.startswith("function-") or p in (_CHANNEL_TAG, _RECORD_TAG)))
        )
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SegmentFilterError(_where(path, loc), message) from exc
    return leaf


def to_json(node: Filter) -> dict[str, Any]:
    """The canonical JSON of a parsed filter (what is stored)."""
    if isinstance(node, And):
        return {"and": [to_json(c) for c in node.all]}
    if isinstance(node, Or):
        return {"or": [to_json(c) for c in node.any]}
    if isinstance(node, Not):
        return {"not": to_json(node.inner)}
    return node.model_dump(mode="json", exclude_defaults=False, exclude_none=True)


def leaves(node: Filter) -> list[Leaf]:
    if isinstance(node, And):
        return [leaf for c in node.all for leaf in leaves(c)]
    if isinstance(node, Or):
        return [leaf for c in node.any for leaf in leaves(c)]
    if isinstance(node, Not):
        return leaves(node.inner)
    return [node]
