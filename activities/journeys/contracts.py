"""Names and input/output models of the activities journey workflows call (imported by workflows and worker)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.journeys.definition import JourneyDefinition, WaitForEventStep, WaitStep
from domain.journeys.send_policy import JourneySendPolicy
from domain.journeys.steps.branching import SplitBranch
from domain.journeys.steps.split_conditions import SplitFacts

LOAD_JOURNEY_VERSION = "journeys.load_version"
# Sends every channel's step (send_email, send_sms, send_push: the step says which); the name is the one recorded
# histories and dead letters carry.
SEND_JOURNEY_EMAIL = "delivery.send_journey_email"
SEND_JOURNEY_MESSAGE = SEND_JOURNEY_EMAIL
CHECK_SEND_GATE = "journeys.check_send_gate"
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


# -- steps that read or change the contact (workflows/steps/branching.py, workflows/steps/contact.py) ---------------

EVALUATE_SPLIT = "journeys.evaluate_split"
UPDATE_CONTACT = "journeys.update_contact"
ADJUST_SCORE = "journeys.adjust_score"


class EvaluateSplitInput(BaseModel):
    """A condition split for one contact: its branches' conditions, in order."""

    workspace_id: str
    journey_id: str
    contact_id: str
    step_id: str
    branches: list[SplitBranch]
    # send step id -> this run's idempotency key of that send: the message engagement conditions read
    engagement_keys: dict[str, str] = Field(default_factory=dict)
    at: datetime  # the workflow's now: event windows end here


class EvaluateSplitOutput(BaseModel):
    branch: int | None  # None: the default
    reason: str
    facts: SplitFacts


class UpdateContactInput(BaseModel):
    workspace_id: str
    journey_id: str
    contact_id: str
    step_id: str
    idempotency_key: str
    set: dict[str, Any] = Field(default_factory=dict)  # values as the step has them (templates unrendered)
    unset: list[str] = Field(default_factory=list)


class UpdateContactOutput(BaseModel):
    status: Literal["updated", "already_applied", "contact_missing"]
    changed: dict[str, Any] = Field(default_factory=dict)  # attribute -> value written (None: unset)


class AdjustScoreInput(BaseModel):
    workspace_id: str
    journey_id: str
    contact_id: str
    step_id: str
    idempotency_key: str
    group: str
    delta: float


class AdjustScoreOutput(BaseModel):
    status: Literal["applied", "already_applied", "contact_missing"]
    score: float | None = None  # the group's score after it


SEND_TEST_EMAIL = "delivery.send_test_email"
TEST_SEND_WORKFLOW = "JourneyTestSend"


class SendTestEmailInput(BaseModel):
    """One email of a journey step, rendered by the API, sent to a designer's address: through the workspace's
    provider chain, but no message-log row, no journey send, no frequency cap."""

    workspace_id: str
    journey_id: str
    step_id: str
    test_id: str
    sender: str | None = None
    to: str
    subject: str
    html: str | None = None
    text: str | None = None


class SendTestEmailOutput(BaseModel):
    provider: str
    provider_message_id: str | None = None


COMPUTE_WAIT_DEADLINE = "journeys.compute_wait_deadline"
FIND_EARLIER_EVENT = "journeys.find_earlier_event"


class ComputeWaitDeadlineInput(BaseModel):
    """A `wait` step in one of its calendar forms (until, until_attribute, business_days), started at `started_at`
    (the workflow's time, so the answer does not depend on when the activity runs)."""

    workspace_id: str
    contact_id: str
    step: WaitStep
    started_at: datetime


class ComputeWaitDeadlineOutput(BaseModel):
    until: datetime | None  # UTC; None: the step goes on at once
    reason: str
    timezone: str  # the zone the local times were placed in


class FindEarlierEventInput(BaseModel):
    """The latest event the contact did in [since, until] that a wait_for_event step accepts (name and `where`),
    other than `exclude_ids` (the trigger, events earlier steps consumed)."""

    workspace_id: str
    contact_id: str
    step: WaitForEventStep
    since: datetime
    until: datetime
    exclude_ids: list[str] = Field(default_factory=list)


class FindEarlierEventOutput(BaseModel):
    event_id: str | None = None
    timestamp: datetime | None = None


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
    topic: str | None = None  # the step's consent topic: a send without consent is neither held nor reserved


class SendGateOutput(BaseModel):
    """`allowed` (reserved under the cap), `capped` (a frequency cap holds it until `until`; the journey's
        on_capped says skip or defer) or `quiet` (inside quiet hours until `until`). A send without consent is
    `allowed` with nothing reserved: the send activity's consent check skips it and logs why."""

    decision: Literal["allowed", "capped", "quiet"]
    until: datetime | None = None
    on_capped: Literal["skip", "defer"] = "defer"
    reason: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
