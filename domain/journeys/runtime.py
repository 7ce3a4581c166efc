"""Models a running journey exchanges with the world: its input, the event signal, its queryable state."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.journeys.definition import JourneyDefinition

EVENT_SIGNAL = "event"
CONTROL_SIGNAL = "control"  # pause, resume, stop, migrate (JourneyControl)
NOTICE_SIGNAL = "notice"  # a step's awaited answer: task completed, webhook answered (JourneyNotice)
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
    """An ingested event delivered to a running journey (the trigger included, on signal-with-start).

    `kind` is the outbox kind (domain.events.interest.OutboxKind): "event" for a tracked event; exit criteria and
    goals may also be told of a contact update ("contact", properties the changed attributes) or a segment exit
    ("segment_exited", name the segment id)."""

    event_id: str
    name: str
    properties: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime
    kind: str = "event"


ExitKind = Literal["goal", "exit", "stop", "migrate"]


class JourneyExit(BaseModel):
    """Why a run stops where it stands: a goal reached (a conversion), an exit criterion met, a stop of the whole
    journey, or a migration to another version (`version`, `node`: where it continues)."""

    kind: ExitKind
    reason: str
    goal_id: str | None = None
    event_id: str | None = None
    version: int | None = None
    node: str | None = None


class JourneyControl(BaseModel):
    """The control signal: sent to every running contact of a journey at once (a batch operation)."""

    action: Literal["pause", "resume", "stop", "migrate"]
    reason: str | None = None
    # migrate: the version to move to and where each old node's contacts go; a node absent from the map exits
    # its contacts ("exit") or leaves them on their version ("stay")
    version: int | None = None
    node_map: dict[str, str] = Field(default_factory=dict)
    unmapped: Literal["exit", "stay"] = "exit"
    operation_id: str | None = None


class JourneyNotice(BaseModel):
    """Something a step waits for besides events: `kind` ("task_completed", "webhook_answered"...) and `key` (the
    task id...) select it, `data` carries the answer (the outcome...)."""

    kind: str
    key: str
    data: dict[str, Any] = Field(default_factory=dict)
    at: datetime | None = None


class JourneyResume(BaseModel):
    """What a journey carries across continue-as-new."""

    step_id: str
    pending_events: list[JourneyEventSignal] = Field(default_factory=list)
    seen_event_ids: list[str] = Field(default_factory=list)
    history: list[StepRecord] = Field(default_factory=list)
    # Set when the run continued as new in the middle of a wait: the resumed wait ends at the same instant.
    wait_deadline: datetime | None = None
    notices: list[JourneyNotice] = Field(default_factory=list)
    paused: bool = False
    exit: JourneyExit | None = None
    holdout: bool = False


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
    # Which entry of the contact into this journey this run is (re-entry policies): side effects of entry n > 1 are
    # keyed apart from the first's, whose keys stay as they were.
    entry: int = 1
    # Set when the journey was paused as the contact entered: sends are held until it is resumed.
    paused: bool = False
    # Set by every start made by code that has the send-policy gate (frequency caps, quiet hours): such a run gates
    # its non-transactional sends without asking workflow.patched() (no marker, no upsert); runs without it (recorded
    # histories) ask it at the send.
    send_gate: bool = False


class StepRecord(BaseModel):
    """One step a contact went through, with the decision made there and why (the explain timeline)."""

    step_id: str
    type: str
    entered_at: datetime
    finished_at: datetime | None = None
    outcome: str | None = None
    reason: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class JourneyState(BaseModel):
    workspace_id: str
    journey_id: str
    version: int
    contact_id: str
    status: Literal["starting", "running", "completed", "failed", "converted", "exited"] = "starting"
    current_step: str | None = None
    waiting_for_event: str | None = None
    waiting_for: str | None = Field(None, description="What the current step waits for, in words.")
    wait_until: datetime | None = None
    paused: bool = False
    holdout: bool = Field(False, description="In a holdout (control) group: tracked, but sent nothing.")
    history: list[StepRecord] = Field(default_factory=list)
    pending_events: int = 0
    error: str | None = Field(None, description="Why the journey failed, when it did.")
    exit: JourneyExit | None = Field(None, description="The goal, exit criterion or stop that ended the run.")


class JourneyResult(BaseModel):
    status: Literal["completed", "failed", "converted", "exited"]
    last_step: str | None = None
    steps_run: int = 0
    exit: JourneyExit | None = None


JourneyResume.model_rebuild()
