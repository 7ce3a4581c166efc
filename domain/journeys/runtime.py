"""Models a running journey exchanges with the world: its input, the event signal, its queryable state."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.journeys.definition import JourneyDefinition

EVENT_SIGNAL = "event"
STATE_QUERY = "state"
WORKFLOW_NAME = "Journey"


def journey_workflow_id(workspace_id: str, journey_id: str, contact_id: str) -> str:
    """Deterministic id: one journey workflow per (journey, contact) is enforced by Temporal itself."""
    return f"journey:{workspace_id}:{journey_id}:{contact_id}"


def journey_event_id(journey_id: str, contact_id: str) -> str:
    """The event id of what announces one (journey, contact) execution (journey.entered, journey.completed):
    deterministic, so a repeated announcement queues no second delivery, and within the outbox's 80 characters
    (the workflow id, with the workspace in front, is longer)."""
    readable = f"{journey_id}:{contact_id}"
    return readable if len(readable) <= 80 else "jx_" + hashlib.sha256(readable.encode()).hexdigest()[:40]


class JourneyEventSignal(BaseModel):
    """An ingested event delivered to a running journey (the trigger included, on signal-with-start)."""

    event_id: str
    name: str
    properties: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime


class JourneyResume(BaseModel):
    """What a journey carries across continue-as-new."""

    step_id: str
    pending_events: list[JourneyEventSignal] = Field(default_factory=list)
    seen_event_ids: list[str] = Field(default_factory=list)
    history: list[StepRecord] = Field(default_factory=list)
    # Set when the run continued as new in the middle of a wait: the resumed wait ends at the same instant.
    wait_deadline: datetime | None = None


class JourneyInput(BaseModel):
    workspace_id: str
    journey_id: str
    version: int
    contact_id: str
    trigger_event_id: str
    resume: JourneyResume | None = None
    # Set by the dispatcher when it enters a contact with a plain start (no signal-with-start): the immutable
    # version's definition, so the run needs no load (and its history explains itself), and the trigger event.
    # Absent in histories recorded before; the workflow then loads the definition by a local activity.
    definition: JourneyDefinition | None = None
    trigger: JourneyEventSignal | None = None
    # Set by the dispatcher when the workspace has an outbound webhook subscribed to journey.completed: the run
    # announces its normal end (one local activity); journeys of other workspaces pay nothing.
    announce_completion: bool = False


class StepRecord(BaseModel):
    step_id: str
    type: str
    entered_at: datetime
    finished_at: datetime | None = None
    outcome: str | None = None


class JourneyState(BaseModel):
    workspace_id: str
    journey_id: str
    version: int
    contact_id: str
    status: Literal["starting", "running", "completed", "failed"] = "starting"
    current_step: str | None = None
    waiting_for_event: str | None = None
    wait_until: datetime | None = None
    history: list[StepRecord] = Field(default_factory=list)
    pending_events: int = 0
    error: str | None = Field(None, description="Why the journey failed, when it did.")


class JourneyResult(BaseModel):
    status: Literal["completed", "failed"]
    last_step: str | None = None
    steps_run: int = 0


JourneyResume.model_rebuild()
