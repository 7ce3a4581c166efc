"""A journey simulation's question and answer (POST /v1/journeys/{id}/simulate): a synthetic contact and a script
of timed events go in; the exact timeline of steps and sends comes out. Pure models; the engine runs the real
journey workflow on a time-skipping test server (mauntic/journey_simulation.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from domain.journeys.definition import JourneyDefinition
from domain.journeys.send_policy import WorkspaceSendPolicy

SIMULATION_WORKFLOW = "journeys.simulate"  # runs the simulation activity in the worker, where the workflow code is
ENGINE = "time-skipping test server"
MAX_EVENTS = 1_000
MAX_UNTIL = timedelta(days=400)
DEFAULT_UNTIL = timedelta(days=30)
# How long the engine may compute one simulation (real time, not simulated time): past it, the answer is a 504.
SIMULATION_TIMEOUT = timedelta(seconds=60)
SIMULATED_CONTACT_ID = "simulated-contact"
TRIGGER_EVENT_ID = "simulated-trigger"
UNAVAILABLE = "SimulationUnavailable"  # the error type when the engine cannot run (no test server binary)


class SimulatedContact(BaseModel):
    attributes: dict[str, Any] = Field(default_factory=dict)
    timezone: str | None = None


class SimulatedEvent(BaseModel):
    """An event of the script, `offset` after the contact entered."""

    offset: timedelta
    name: str
    properties: dict[str, Any] = Field(default_factory=dict)


class SimulationRequest(BaseModel):
    workspace_id: str
    journey_id: str
    version: int
    definition: JourneyDefinition
    contact: SimulatedContact = Field(default_factory=SimulatedContact)
    events: list[SimulatedEvent] = Field(default_factory=list, max_length=MAX_EVENTS)
    until: timedelta = DEFAULT_UNTIL
    trigger_properties: dict[str, Any] = Field(default_factory=dict)
    # the workspace's send policy and time zone, as the real gate would apply them (caps and quiet hours)
    workspace_policy: WorkspaceSendPolicy | None = None
    workspace_timezone: str | None = None


class SimulatedStep(BaseModel):
    at: datetime = Field(description="When the contact entered the node (simulated time).")
    node: str
    type: str
    outcome: str | None = None
    reason: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    finished_at: datetime | None = None


class SimulatedSend(BaseModel):
    at: datetime
    channel: str
    node: str


class SimulationResult(BaseModel):
    engine: str = ENGINE
    started_at: datetime = Field(description="When the synthetic contact entered (simulated time: now).")
    ended_at: datetime = Field(description="Where the simulation stopped: the run's end, or `until`.")
    status: str = Field(description="The run's status then: completed, converted, exited, failed or running.")
    version: int | None = Field(None, description="The version simulated (none: the unpublished draft).")
    timeline: list[SimulatedStep] = Field(default_factory=list)
    sends: list[SimulatedSend] = Field(default_factory=list)
    error: str | None = None
    not_simulated: list[str] = Field(
        default_factory=list, description="Activities the run called that the simulation has no stand-in for."
    )
