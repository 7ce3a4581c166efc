"""What starts a journey: an event with property filters, entering a segment, a score crossing, an intent (an event
pattern within a window, counted incrementally by the dispatcher: store/journey_intents.py), or only the API
(`POST /v1/journeys/{id}/enroll`, which any published journey also accepts)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from domain.events.interest import OutboxKind
from domain.journeys.conditions import PropertyFilter, Strict, all_match, is_number
from domain.journeys.durations import WaitDuration


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


class IntentTrigger(Strict):
    """`count` matching events within `within` (e.g. three pricing-page views in seven days) start the journey at
    the event that completes the pattern."""

    event: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    where: list[PropertyFilter] = Field(default_factory=list)
    count: int = Field(ge=1, le=1000)
    within: WaitDuration

    def counts(self, name: str, properties: dict[str, Any]) -> bool:
        return name == self.event and all_match(self.where, properties)


class Trigger(Strict):
    """What starts the journey: a named event (with property filters), entering a segment
    (`{"segment_entered": "sg_..."}`), a score crossing (`{"score_crossed": {...}}`), an intent
    (`{"intent": {"event", "where", "count", "within"}}`) or the API alone (`{"api": true}`)."""

    event: Annotated[str, StringConstraints(min_length=1)] | None = None
    segment_entered: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")] | None = None
    score_crossed: ScoreCrossedTrigger | None = None
    intent: IntentTrigger | None = None
    api: Literal[True] | None = None
    where: list[PropertyFilter] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self) -> Trigger:
        sources = [
            s for s in (self.event, self.segment_entered, self.score_crossed, self.intent, self.api) if s is not None
        ]
        if len(sources) != 1:
            raise ValueError(
                "a trigger names exactly one of `event`, `segment_entered`, `score_crossed`, `intent` or `api`"
            )
        if self.event is None and self.where:
            raise ValueError("`where` applies to event triggers")
        return self

    @property
    def event_names(self) -> set[str]:
        """The event names this trigger needs queued (an event's, or an intent's)."""
        names = {self.event} if self.event is not None else set()
        return names | ({self.intent.event} if self.intent is not None else set())

    def matches(self, event_name: str, properties: dict[str, Any]) -> bool:
        return self.event is not None and event_name == self.event and all_match(self.where, properties)

    def accepts(self, kind: str, name: str, properties: dict[str, Any]) -> bool:
        """Whether an outbox row (domain.events.interest.OutboxKind) starts the journey on its own (an intent
        needs the count the dispatcher keeps; the API enters through its own rows)."""
        if self.intent is not None or self.api is not None:
            return False
        if self.score_crossed is not None:
            return kind == OutboxKind.SCORE_CROSSED and self.score_crossed.accepts(name, properties)
        if self.segment_entered is not None:
            return kind == OutboxKind.SEGMENT_ENTERED and name == self.segment_entered
        return kind == OutboxKind.EVENT and self.matches(name, properties)

    @property
    def label(self) -> str:
        """What journey_version.trigger_event records: the event name, `segment_entered:<segment>` or
        `score_crossed:<group>`, `intent:<event>` or `api`."""
        if self.intent is not None:
            return f"intent:{self.intent.event}"[:255]
        if self.api is not None:
            return "api"
        if self.score_crossed is not None:
            return f"score_crossed:{self.score_crossed.group}"[:255]
        if self.segment_entered is not None:
            return f"segment_entered:{self.segment_entered}"
        return self.event or ""
