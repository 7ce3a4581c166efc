"""Names and models of outbound webhook delivery (workflow, signal, activity), shared by workflows, worker, API
and tests."""

from __future__ import annotations

from pydantic import BaseModel

from domain.journeys.steps.webhook import WebhookBranch

DELIVERY_WORKFLOW = "WebhookDeliveries"
WAKE_SIGNAL = "wake"
DELIVER_DUE = "webhooks.deliver_due"


def delivery_workflow_id(task_queue: str) -> str:
    """One delivery workflow per deployment (its task queue): every wake coalesces into it."""
    return f"webhook-deliveries:{task_queue}"


class WebhookDeliveriesInput(BaseModel):
    chunk_size: int = 500
    lease_seconds: float = 60.0
    idle_seconds: float = 60.0  # longest sleep without a wake: a safety net under signals and retry timers
    iterations: int = 0  # carried over continue-as-new


class Wake(BaseModel):
    reason: str = ""


class DeliverDueInput(BaseModel):
    chunk_size: int = 500
    lease_seconds: float = 60.0
    budget_seconds: float = 20.0  # go on claiming chunks this long, heartbeating after each


class DeliverDueOutput(BaseModel):
    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    more: bool = False  # due rows were left when the budget ran out
    next_due_seconds: float | None = None  # when the earliest pending delivery is due (None: none pending)


# The journey webhook step (domain/journeys/steps/webhook.py): queue a delivery on the durable path
# (fire-and-forget, a local activity), or make the signed request once and report the answer (waited).
QUEUE_JOURNEY_WEBHOOK = "webhooks.queue_journey_webhook"
CALL_JOURNEY_WEBHOOK = "webhooks.call_journey_webhook"


class JourneyWebhookInput(BaseModel):
    workspace_id: str
    journey_id: str
    version: int
    step_id: str
    contact_id: str
    idempotency_key: str  # the `webhook-id` of a waited call; the delivery's source of a queued one


class QueueJourneyWebhookOutput(BaseModel):
    queued: bool  # False: the endpoint is gone or disabled (reason says which)
    delivery_id: str | None = None
    endpoint_id: str | None = None
    reason: str | None = None


class CallJourneyWebhookOutput(BaseModel):
    status_class: WebhookBranch  # domain.journeys.steps.webhook.status_class
    status_code: int | None = None
    latency_ms: float = 0.0
    endpoint_id: str | None = None
    error: str | None = None


ACTIVITIES = [DELIVER_DUE, QUEUE_JOURNEY_WEBHOOK, CALL_JOURNEY_WEBHOOK]
WORKFLOWS = [DELIVERY_WORKFLOW]
