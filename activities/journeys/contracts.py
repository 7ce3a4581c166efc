"""Names and input/output models of the activities journey workflows call (imported by workflows and worker)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from domain.journeys.definition import JourneyDefinition

LOAD_JOURNEY_VERSION = "journeys.load_version"
SEND_JOURNEY_EMAIL = "delivery.send_journey_email"
RECORD_JOURNEY_DEAD_LETTER = "journeys.record_dead_letter"
ANNOUNCE_JOURNEY_COMPLETED = "journeys.announce_completed"
# Runs a simulation (domain.journeys.simulation.SimulationRequest -> SimulationResult) on the worker's engine.
SIMULATE_JOURNEY = "journeys.simulate"


class LoadJourneyVersionInput(BaseModel):
    workspace_id: str
    journey_id: str
    version: int


class LoadJourneyVersionOutput(BaseModel):
    definition: JourneyDefinition


class SendJourneyEmailInput(BaseModel):
    workspace_id: str
    journey_id: str
    version: int
    step_id: str
    contact_id: str
    idempotency_key: str


class SendJourneyEmailOutput(BaseModel):
    message_log_id: str
    status: Literal["sent", "already_sent", "skipped", "uncertain"]
    reason: str | None = None
    provider_message_id: str | None = None


class RecordJourneyDeadLetterInput(BaseModel):
    workspace_id: str
    journey_id: str
    version: int
    contact_id: str
    workflow_id: str
    run_id: str
    step_id: str | None = None
    error_type: str
    reason: str


class RecordJourneyDeadLetterOutput(BaseModel):
    recorded: bool


class AnnounceJourneyCompletedInput(BaseModel):
    """A journey execution that ended normally, for an outbound webhook subscribed to journey.completed."""

    workspace_id: str
    journey_id: str
    version: int
    contact_id: str
    workflow_id: str
    last_step: str | None = None
    steps_run: int


class AnnounceJourneyCompletedOutput(BaseModel):
    announced: bool  # False: no endpoint of the workspace takes journey.completed any more


RESEND_MESSAGE_WORKFLOW = "messages.resend"


class ResendMessageInput(BaseModel):
    """Send an uncertain message once more (workflows/message_resend.py), under its own idempotency key."""

    send: SendJourneyEmailInput
