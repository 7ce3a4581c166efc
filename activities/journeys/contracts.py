"""Names and input/output models of the activities journey workflows call (imported by workflows and worker)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.journeys.definition import JourneyDefinition
from domain.journeys.send_policy import JourneySendPolicy

LOAD_JOURNEY_VERSION = "journeys.load_version"
# Sends every channel's step (send_email, send_sms, send_push: the step says which); the name is the one recorded
# histories and dead letters carry.
SEND_JOURNEY_EMAIL = "delivery.send_journey_email"
SEND_JOURNEY_MESSAGE = SEND_JOURNEY_EMAIL
CHECK_SEND_GATE = "journeys.check_send_gate"
RECORD_JOURNEY_DEAD_LETTER = "journeys.record_dead_letter"
ANNOUNCE_JOURNEY_COMPLETED = "journeys.announce_completed"


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


SendJourneyMessageInput = SendJourneyEmailInput


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


class SendGateInput(BaseModel):
    """Asked right before a non-transactional send: may it go now? `now` is the workflow's time (the decision is
    made at the instant the journey is at, which time-skipping tests control); `idempotency_key` is the send's."""

    workspace_id: str
    journey_id: str
    contact_id: str
    channel: Literal["email", "sms", "push"]
    idempotency_key: str
    now: datetime
    journey_policy: JourneySendPolicy | None = None


class SendGateOutput(BaseModel):
    """`allowed` (reserved under the cap), `capped` (a frequency cap holds it until `until`; the journey's
    on_capped says skip or defer) or `quiet` (inside quiet hours until `until`)."""

    decision: Literal["allowed", "capped", "quiet"]
    until: datetime | None = None
    on_capped: Literal["skip", "defer"] = "defer"
    reason: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
