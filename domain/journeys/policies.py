"""Journey-wide policies: goals and exit criteria (which act the moment they are met, whatever step the contact
stands at), and the re-entry policy.

A goal or exit criterion names one source: an event (with property filters), a segment the contact enters or
leaves, or a condition on the contact's attributes. The running journey evaluates them on every signal it gets
(events, segment changes, contact updates: domain.journeys.runtime.JourneyEventSignal), so a goal reached during a
five-day wait ends the run at once and its timer is cancelled, not waited out.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from domain.events.interest import OutboxKind
from domain.journeys.conditions import PropertyFilter, Strict, all_match
from domain.journeys.durations import WaitDuration
from domain.journeys.steps import StepId

SegmentId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
EventName = Annotated[str, StringConstraints(min_length=1, max_length=255)]
MAX_CRITERIA = 20
# The events that end a sales sequence for a contact on their own (an inbound reply, a booked meeting).
SEQUENCE_EXIT_EVENTS = ("Email Replied", "Meeting Booked")


class Criterion(Strict):
    """Exactly one of: `event` (+ `where`), `segment` membership change, `attribute` condition."""

    event: EventName | None = None
    where: list[PropertyFilter] = Field(default_factory=list)
    attribute: PropertyFilter | None = None

    def _segment(self) -> str | None:
        return None

    @model_validator(mode="after")
    def _one_source(self) -> Criterion:
        sources = [s for s in (self.event, self._segment(), self.attribute) if s is not None]
        if len(sources) != 1:
            raise ValueError(f"names exactly one of `event`, `{self._segment_field()}` or `attribute`")
        if self.event is None and self.where:
            raise ValueError("`where` applies to an `event`")
        return self

    @staticmethod
    def _segment_field() -> str:
        return "segment"

    def _segment_kind(self) -> str:
        return ""

    def met_by(self, kind: str, name: str, properties: dict[str, Any]) -> bool:
        """Whether a signal (an outbox kind, its name and properties) meets this criterion."""
        if self.event is not None:
            return kind == OutboxKind.EVENT and name == self.event and all_match(self.where, properties)
        segment = self._segment()
        if segment is not None:
            return kind == self._segment_kind() and name == segment
        assert self.attribute is not None
        return kind == OutboxKind.CONTACT and self.attribute.matches(properties)

    def describe(self) -> str:
        if self.event is not None:
            return f"event {self.event!r}" + (" (filtered)" if self.where else "")
        segment = self._segment()
        if segment is not None:
            return f"{self._segment_kind().replace('_', ' ')} {segment}"
        assert self.attribute is not None
        return f"attribute {self.attribute.property} {self.attribute.op} {self.attribute.value!r}"


class Goal(Criterion):
    """Reaching it is a conversion: the contact leaves the journey at once (converted)."""

    id: StepId
    segment_entered: SegmentId | None = None

    def _segment(self) -> str | None:
        return self.segment_entered

    @staticmethod
    def _segment_field() -> str:
        return "segment_entered"

    def _segment_kind(self) -> str:
        return OutboxKind.SEGMENT_ENTERED


class ExitCriterion(Criterion):
    """Meeting it takes the contact out of the journey at once (exited)."""

    segment_exited: SegmentId | None = None

    def _segment(self) -> str | None:
        return self.segment_exited

    @staticmethod
    def _segment_field() -> str:
        return "segment_exited"

    def _segment_kind(self) -> str:
        return OutboxKind.SEGMENT_EXITED


class Reentry(Strict):
    """Whether a contact who was in the journey may enter it again (Pinpoint's EndpointReentryCap and
    EndpointReentryInterval): `never` (the default), `after_exit` (once the previous run has ended) or `cooldown`
    (once it has ended and `cooldown` has passed since the previous entry); `max_entries` caps entries in all."""

    mode: Literal["never", "after_exit", "cooldown"] = "never"
    cooldown: WaitDuration | None = None
    max_entries: int | None = Field(None, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _cooldown_for_cooldown(self) -> Reentry:
        if (self.mode == "cooldown") != (self.cooldown is not None):
            raise ValueError("`cooldown` is required with mode 'cooldown', and only there")
        return self

    @property
    def allows_reentry(self) -> bool:
        return self.mode != "never" and self.max_entries != 1


def matching_goal(goals: list[Goal], kind: str, name: str, properties: dict[str, Any]) -> Goal | None:
    return next((goal for goal in goals if goal.met_by(kind, name, properties)), None)


def matching_exit(
    criteria: list[ExitCriterion], kind: str, name: str, properties: dict[str, Any]
) -> ExitCriterion | None:
    return next((criterion for criterion in criteria if criterion.met_by(kind, name, properties)), None)
