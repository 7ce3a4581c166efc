"""What starts a journey: an event with property filters, entering a segment, or a score crossing."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from domain.events.interest import OutboxKind
from domain.journeys.conditions import PropertyFilter, Strict, all_match, is_number


class ScoreCrossedTrigger(Strict):
    """A contact's score in `group` crossed `threshold` in `direction` (a score_crossed outbox row)."""

    group: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    threshold: float
    direction: Literal["up", "down"] = "up"

    def accepts(self, name: str, properties: dict[str, Any]) -> bool:
        threshold: Any = properties.get("threshold")
        return (
            name == self.group
            and is_number(threshold)
            and float(threshold) == self.threshold
            and properties.get("direction") == self.direction
        )


class Trigger(Strict):
    """What starts the journey: a named event (with property filters), entering a segment
    (`{"segment_entered": "sg_..."}`) or a score crossing (`{"score_crossed": {...}}`)."""

    event: Annotated[str, StringConstraints(min_length=1)] | None = None
    segment_entered: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")] | None = None
    score_crossed: ScoreCrossedTrigger | None = None
    where: list[PropertyFilter] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self) -> Trigger:
        sources = [s for s in (self.event, self.segment_entered, self.score_crossed) if s is not None]
        if len(sources) != 1:
            raise ValueError("a trigger names exactly one of `event`, `segment_entered` or `score_crossed`")
        if self.event is None and self.where:
            raise ValueError("`where` applies to event triggers")
        return self

    def matches(self, event_name: str, properties: dict[str, Any]) -> bool:
        return self.event is not None and event_name == self.event and all_match(self.where, properties)

    def accepts(self, kind: str, name: str, properties: dict[str, Any]) -> bool:
        """Whether an outbox row (domain.events.interest.OutboxKind) starts the journey."""
        if self.score_crossed is not None:
            return kind == OutboxKind.SCORE_CROSSED and self.score_crossed.accepts(name, properties)
        if self.segment_entered is not None:
            return kind == OutboxKind.SEGMENT_ENTERED and name == self.segment_entered
        return kind == OutboxKind.EVENT and self.matches(name, properties)

    @property
    def label(self) -> str:
        """What journey_version.trigger_event records: the event name, `segment_entered:<segment>` or
        `score_crossed:<group>`."""
        if self.score_crossed is not None:
            return f"score_crossed:{self.score_crossed.group}"[:255]
        if self.segment_entered is not None:
            return f"segment_entered:{self.segment_entered}"
        return self.event or ""
