"""Request and response bodies of the tasks API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.base import SafeInput
from store.models_tasks import JourneyTask


class TaskPublic(BaseModel):
    id: str
    kind: Literal["generic", "call", "linkedin"]
    status: Literal["open", "completed", "expired", "cancelled"]
    title: str
    instructions: str
    profile_url: str | None = Field(None, description="linkedin tasks: the contact's profile")
    message: str | None = Field(None, description="linkedin tasks: the message draft, rendered for the contact")
    assignee: str
    outcomes: list[str] = Field(description="What the task may be completed with")
    outcome: str | None
    note: str | None
    completed_by: str | None
    closed_reason: str | None = Field(None, description="Why an expired or cancelled task closed")
    journey_id: str
    version: int
    step_id: str
    contact_id: str
    workflow_id: str
    due_at: datetime | None
    sla_at: datetime | None
    escalated_at: datetime | None
    escalation: dict[str, Any] | None = Field(None, description="What the SLA escalation did: reassigned or notified")
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, task: JourneyTask) -> TaskPublic:
        return cls.model_validate(task, from_attributes=True)


class TaskComplete(SafeInput):
    outcome: str = Field("done", min_length=1, max_length=40, description="One of the task's outcomes")
    note: str | None = Field(None, max_length=5000)
    by: str | None = Field(
        None, min_length=1, max_length=320, description="Who completed it (a user id or email); default the API key"
    )


class TaskCompleted(TaskPublic):
    journey_notified: bool = Field(
        description="The journey was told (false: its execution had already ended, e.g. the contact exited)"
    )
