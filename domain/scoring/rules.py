"""Scoring rules, thresholds and crossings: the pure model behind lead scoring.

A rule grants points to a score group either for an event (its name and property filters, optionally capped per
window) or for a contact whose fields/attributes match conditions. The group `total` is reserved: it is the sum
over a contact's groups, kept by scoring itself.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from domain.journeys.conditions import PropertyFilter
from domain.json_limits import require_storable

TOTAL = "total"
GROUP_PATTERN = r"^[a-z0-9][a-z0-9_ -]{0,63}$"
GroupName = Annotated[str, StringConstraints(pattern=GROUP_PATTERN)]
MAX_POINTS = 1_000_000.0
# filters scoring can evaluate in SQL (`contains` on lists is not among them)
SQL_OPS = frozenset({"eq", "neq", "gt", "gte", "lt", "lte", "contains", "exists", "in"})


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"


class Cap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    points: Annotated[float, Field(gt=0, le=MAX_POINTS)]
    window_hours: Annotated[int, Field(ge=1, le=24 * 366)]


class RuleSpec(BaseModel):
    """What a rule is, as the API takes it (`event` or `attributes`, not both)."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    group: GroupName
    points: Annotated[float, Field(ge=-MAX_POINTS, le=MAX_POINTS)]
    event: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    where: list[PropertyFilter] = Field(default_factory=list, max_length=20)
    attributes: list[PropertyFilter] | None = Field(default=None, max_length=20)
    cap: Cap | None = None
    half_life_hours: Annotated[int, Field(ge=1, le=24 * 3660)] | None = None
    enabled: bool = True

    @field_validator("name", "event", mode="after")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        return require_storable(value, bounded=False)  # type: ignore[no-any-return]

    @model_validator(mode="after")
    def _one_kind(self) -> RuleSpec:
        if self.group == TOTAL:
            raise ValueError("the group 'total' is reserved (the sum over groups)")
        if (self.event is None) == (self.attributes is None):
            raise ValueError("a rule has either `event` (with optional `where`) or `attributes`")
        if self.attributes is not None and (self.where or self.cap):
            raise ValueError("`where` and `cap` apply to event rules only")
        if self.attributes is not None and not self.attributes:
            raise ValueError("`attributes` needs at least one condition")
        return self

    @property
    def kind(self) -> Literal["event", "attribute"]:
        return "event" if self.event is not None else "attribute"


def contact_matches(conditions: list[PropertyFilter], fields: dict[str, Any]) -> bool:
    """Attribute conditions over a contact's fields (`email`, ...) and custom attributes (`attributes.plan`, or
    `plan` when no field has that name)."""
    return all(condition.matches(fields) for condition in conditions)


def contact_fields(fields: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
    return {**attributes, **fields, "attributes": attributes}


class ThresholdSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group: Annotated[str, StringConstraints(pattern=GROUP_PATTERN)]  # "total" allowed here
    value: Annotated[float, Field(ge=-MAX_POINTS, le=MAX_POINTS)]
    direction: Direction = Direction.UP
    alert_ttl_hours: Annotated[int, Field(ge=1, le=24 * 366)] = 72


def crossed(previous: float, current: float, value: float, direction: Direction) -> bool:
    """Up: from below the value to at or above it; down: from at or above it to below."""
    if direction is Direction.UP:
        return previous < value <= current
    return current < value <= previous
