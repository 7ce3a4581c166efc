"""Request and response bodies of the journeys API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.base import SafeInput
from domain.journeys.runtime import JourneyState
from store.models import Journey, JourneyDeadLetter


class JourneyCreate(SafeInput):
    name: str = Field(min_length=1, max_length=200)
    definition: dict[str, Any] = Field(
        description="trigger (event + optional property filters), start, and steps: send_email, wait, "
        "wait_for_event (with timeout, on_event and on_timeout branches), end."
    )


class JourneyUpdate(SafeInput):
    name: str | None = Field(None, min_length=1, max_length=200)
    definition: dict[str, Any] | None = None


class JourneyPublic(BaseModel):
    id: str
    name: str
    status: Literal["draft", "published", "archived"]
    definition: dict[str, Any]
    published_version: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, journey: Journey) -> JourneyPublic:
        return cls.model_validate(journey, from_attributes=True)


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
    def of(cls, row: JourneyDeadLetter) -> JourneyDeadLetterPublic:
        return cls.model_validate(row, from_attributes=True)
