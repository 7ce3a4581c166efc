"""Bodies of journey inspection: a contact's explained run, the contacts in a journey, its stats, previews."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from api.schemas.base import JsonAttributes, SafeInput
from api.validation import normalized_email
from domain.journeys.explain import TimelineEntry

RunStatus = Literal["running", "completed", "converted", "exited", "failed"]


class JourneyExplanation(BaseModel):
    contact_id: str
    workflow_id: str
    version: int
    status: str
    current_node: str | None
    waiting_for: str | None
    wait_until: datetime | None
    timeline: list[TimelineEntry]
    text: str = Field(description="The same, as lines for a person to read (also served as text/plain).")
    temporal_ui: str = Field(description="The execution in the Temporal Web UI.")


class JourneyContactRow(BaseModel):
    contact_id: str
    workflow_id: str
    run_id: str
    status: RunStatus | str
    node: str | None = Field(description="The step it waits at (running) or finished at (MaunticStep).")
    version: int | None
    holdout: bool
    started_at: datetime | None
    closed_at: datetime | None
    temporal_ui: str


class HoldoutStats(BaseModel):
    holdout: int
    holdout_converted: int
    holdout_rate: float | None = Field(description="Converted / contacts in the holdout group; null when empty.")
    treatment: int
    treatment_converted: int
    treatment_rate: float | None
    lift: float | None = Field(description="treatment_rate - holdout_rate, when both are known.")


class JourneyStats(BaseModel):
    journey_id: str
    entered: int = Field(description="Contacts that entered (enrollments).")
    running: int
    active: dict[str, int] = Field(description="Running contacts per waiting step (MaunticStep).")
    completed: int
    converted: int
    exited: int
    failed: int
    conversion_rate: float | None = Field(description="converted / entered.")
    holdout: HoldoutStats
    temporal_ui: dict[str, str] = Field(description="Lists of these executions in the Temporal Web UI.")


class PreviewContact(SafeInput):
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=32)
    first_name: str | None = Field(None, max_length=200)
    last_name: str | None = Field(None, max_length=200)
    external_id: str | None = Field(None, max_length=255)
    timezone: str | None = Field(None, max_length=64)
    attributes: JsonAttributes = Field(default_factory=dict)


class PreviewRequest(SafeInput):
    contact_id: str | None = Field(None, max_length=64)
    contact: PreviewContact | None = None

    @model_validator(mode="after")
    def _one_contact(self) -> PreviewRequest:
        if (self.contact_id is None) == (self.contact is None):
            raise ValueError("give exactly one of contact_id or contact")
        return self


class TemplateWarningPublic(BaseModel):
    node: str
    field: str
    variable: str
    message: str


class StepPreview(BaseModel):
    journey_id: str
    step_id: str
    type: str
    rendered: dict[str, str] = Field(
        description="Each Liquid field rendered as the send renders it: subject/html/text for an email, body for "
        "an SMS, title/body for a push."
    )
    warnings: list[TemplateWarningPublic] = Field(default_factory=list)


def _address(value: str) -> str:
    normalized = normalized_email(value)
    if normalized is None:
        raise ValueError("must be an email address")
    return normalized


class SendTestRequest(SafeInput):
    to: Annotated[str, Field(max_length=320), AfterValidator(_address)]
    contact_id: str | None = Field(None, max_length=64)
    contact: PreviewContact | None = None


class SendTestResult(BaseModel):
    journey_id: str
    step_id: str
    to: str
    status: Literal["sent"]
    provider: str
    provider_message_id: str | None
    rendered: dict[str, Any]
