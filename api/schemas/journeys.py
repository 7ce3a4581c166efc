"""Request and response bodies of the journeys API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.base import SafeInput
from api.schemas.journey_inspection import TemplateWarningPublic
from domain.journeys.runtime import JourneyState
from store.models import DeadLetter, Journey


class JourneyCreate(SafeInput):
    name: str = Field(min_length=1, max_length=200)
    definition: dict[str, Any] = Field(
        description="trigger (event + optional property filters), start, and steps: send_email, wait, "
        "wait_for_event (with timeout, on_event and on_timeout branches), end."
    )


class JourneyUpdate(SafeInput):
    name: str | None = Field(None, min_length=1, max_length=200)
    definition: dict[str, Any] | None = None


class JourneyEnroll(SafeInput):
    contact_id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    properties: dict[str, Any] = Field(
        default_factory=dict, description="The properties of the entry's trigger event (in the execution's input)."
    )
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Calls with the same key enter the contact once, whatever the journey's re-entry policy.",
    )


class JourneyEnrollment(BaseModel):
    journey_id: str
    contact_id: str
    workflow_id: str = Field(description="The execution the contact enters (or already runs in).")
    event_id: str = Field(description="The entry's trigger event id.")
    temporal_ui: str | None = None


class JourneyPublic(BaseModel):
    id: str
    name: str
    status: Literal["draft", "published", "archived"]
    definition: dict[str, Any]
    published_version: int | None
    created_at: datetime
    updated_at: datetime
    warnings: list[TemplateWarningPublic] = Field(
        default_factory=list,
        description="Template variables that render empty (create, update and publish answers): never an error.",
    )

    @classmethod
    def of(cls, journey: Journey, warnings: list[TemplateWarningPublic] | None = None) -> JourneyPublic:
        public = cls.model_validate(journey, from_attributes=True)
        public.warnings = warnings or []
        return public


class JourneyContactState(BaseModel):
    journey_id: str
    contact_id: str
    workflow_id: str
    version: int
    entered_at: datetime
    state: JourneyState


class JourneyDeadLetterPublic(BaseModel):
    id: int
    journey_id: str
    version: int
    contact_id: str
    workflow_id: str
    run_id: str
    step_id: str | None = Field(description="The step the journey failed in (null: before its first step).")
    error_type: str
    reason: str
    failed_at: datetime

    @classmethod
    def of(cls, row: DeadLetter) -> JourneyDeadLetterPublic:
        """From the dead-letter store's journey_step row (its version and step are in the input)."""
        return cls(
            id=row.id or 0,
            journey_id=row.journey_id or "",
            version=int(row.input.get("version") or 0),
            contact_id=row.contact_id or "",
            workflow_id=row.workflow_id or "",
            run_id=row.run_id or "",
            step_id=row.input.get("step_id"),
            error_type=row.error_type,
            reason=row.error,
            failed_at=row.last_failed_at,
        )
