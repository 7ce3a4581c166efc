"""The first step types: send an email, wait, wait for an event, end."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from domain.journeys.conditions import PropertyFilter, all_match
from domain.journeys.durations import WaitDuration
from domain.journeys.steps.base import (
    TOPIC_DESCRIPTION,
    Mailbox,
    Reference,
    StepBase,
    StepId,
    TopicKey,
    topic_reference,
)
from domain.journeys.steps.wait_forms import BusinessDays, UntilAttribute, UntilTime

WAIT_FORMS = ("duration", "until", "until_attribute", "business_days")


def _present(**fields: str | None) -> dict[str, str]:
    return {name: target for name, target in fields.items() if target is not None}


class SendEmailStep(StepBase):
    type: Literal["send_email"] = "send_email"
    from_address: Mailbox | None = Field(
        None, description="The From mailbox; a verified sending domain's address gets DKIM-signed mail"
    )
    subject: Annotated[str, StringConstraints(min_length=1)]
    html: str | None = None
    text: str | None = None
    next: StepId | None = None
    on_failure: StepId | None = Field(
        None,
        description="The step to go to when the email cannot be sent (failed for good); without it the journey fails",
    )
    transactional: bool = Field(
        False, description="A transactional email (a receipt, a reset link) bypasses frequency caps and quiet hours"
    )
    topic: TopicKey | None = Field(None, description=TOPIC_DESCRIPTION)

    @model_validator(mode="after")
    def _has_body(self) -> SendEmailStep:
        if self.html is None and self.text is None:
            raise ValueError("at least one of html or text is required")
        return self

    def templates(self) -> dict[str, str]:
        fields = {"subject": self.subject, "html": self.html, "text": self.text}
        return {name: source for name, source in fields.items() if source is not None}

    def successors(self) -> dict[str, str]:
        return _present(next=self.next, on_failure=self.on_failure)

    def references(self) -> list[Reference]:
        return topic_reference(self.topic)


class WaitStep(StepBase):
    """Exactly one of: a `duration`; `until` a local time of day (optionally on given weekdays); `until_attribute`,
    a date attribute plus an offset; `business_days` (domain/journeys/steps/wait_forms.py)."""

    type: Literal["wait"] = "wait"
    duration: WaitDuration | None = None
    until: UntilTime | None = None
    until_attribute: UntilAttribute | None = None
    business_days: BusinessDays | None = None
    next: StepId | None = None

    @model_validator(mode="after")
    def _one_form(self) -> WaitStep:
        given = [name for name in WAIT_FORMS if getattr(self, name) is not None]
        if len(given) != 1:
            named = f" (given: {', '.join(given)})" if given else ""
            raise ValueError(f"a wait needs exactly one of {', '.join(WAIT_FORMS)}{named}")
        return self

    @property
    def form(self) -> str:
        """Which of WAIT_FORMS this wait is."""
        return next(name for name in WAIT_FORMS if getattr(self, name) is not None)

    def successors(self) -> dict[str, str]:
        return _present(next=self.next)

    @property
    def waits(self) -> bool:
        return True


class WaitForEventStep(StepBase):
    type: Literal["wait_for_event"] = "wait_for_event"
    event: Annotated[str, StringConstraints(min_length=1)]
    where: list[PropertyFilter] = Field(default_factory=list)
    timeout: WaitDuration
    on_event: StepId
    on_timeout: StepId
    lookback: WaitDuration | None = Field(
        None,
        description="An event of this name (matching `where`) the contact did within this long before the step "
        "started counts too: the step takes on_event at once",
    )

    def accepts(self, event_name: str, properties: dict[str, Any]) -> bool:
        return event_name == self.event and all_match(self.where, properties)

    def successors(self) -> dict[str, str]:
        return {"on_event": self.on_event, "on_timeout": self.on_timeout}

    @property
    def waits(self) -> bool:
        return True


class EndStep(StepBase):
    type: Literal["end"] = "end"
