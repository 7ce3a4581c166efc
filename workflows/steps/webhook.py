"""The webhook step (workflow code).

Fire-and-forget: one local activity queues a delivery on the durable outbound-webhook path (its retries and dead
letters are the delivery's, not the journey's) and the contact goes on at once. Waited: one activity makes the
signed request (its `webhook-id` is the step's idempotency key, so a receiver dedupes a retried attempt) and the
step branches on the answer's status class (2xx, 4xx, 5xx, timeout, error), recording the status, the latency and
the branch taken; a class without a branch goes to next.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.webhooks.contracts import (
        CALL_JOURNEY_WEBHOOK,
        QUEUE_JOURNEY_WEBHOOK,
        CallJourneyWebhookOutput,
        JourneyWebhookInput,
        QueueJourneyWebhookOutput,
    )
    from domain.journeys.steps import WebhookStep
    from workflows.steps.context import JourneyRun, StepOutcome

QUEUE_TIMEOUT = timedelta(seconds=10)
QUEUE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
QUEUE_GIVE_UP = timedelta(hours=1)
# The request's own timeout is the step's; the activity gets a margin for loading and rendering on top.
CALL_MARGIN = timedelta(seconds=15)
# Retried only when the attempt itself broke (a worker lost, the database unreachable): an HTTP answer, a timeout
# or a refused connection is the result the step branches on.
CALL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10), maximum_attempts=3
)


async def run_webhook(journey: JourneyRun, step: WebhookStep) -> StepOutcome:
    await journey.hold_while_paused()
    key = journey.idempotency_key(step.id)
    request = JourneyWebhookInput(
        workspace_id=journey.input.workspace_id,
        journey_id=journey.input.journey_id,
        version=journey.input.version,
        step_id=step.id,
        contact_id=journey.input.contact_id,
        idempotency_key=key,
    )
    if not step.wait_for_response:
        queued: QueueJourneyWebhookOutput = await workflow.execute_local_activity(
            QUEUE_JOURNEY_WEBHOOK,
            request,
            result_type=QueueJourneyWebhookOutput,
            start_to_close_timeout=QUEUE_TIMEOUT,
            retry_policy=QUEUE_RETRY,
            schedule_to_close_timeout=QUEUE_GIVE_UP,
        )
        detail = {"delivery_id": queued.delivery_id, "endpoint_id": queued.endpoint_id}
        if not queued.queued:
            return StepOutcome("not_queued", step.next, reason=queued.reason, detail=detail)
        return StepOutcome("queued", step.next, reason="queued on the durable delivery path", detail=detail)
    journey.state.waiting_for = f"the answer of webhook step {step.id!r}"
    try:
        answer: CallJourneyWebhookOutput = await workflow.execute_activity(
            CALL_JOURNEY_WEBHOOK,
            request,
            result_type=CallJourneyWebhookOutput,
            start_to_close_timeout=step.timeout + CALL_MARGIN,
            retry_policy=CALL_RETRY,
        )
    except (ActivityError, ApplicationError) as err:
        cause = err.cause if isinstance(err, ActivityError) and err.cause is not None else err
        answer = CallJourneyWebhookOutput(status_class="error", error=f"the request could not be made: {cause}")
    finally:
        journey.state.waiting_for = None
    branch = answer.status_class
    target = step.branches.get(branch, step.next)
    said = f"HTTP {answer.status_code}" if answer.status_code is not None else (answer.error or branch)
    where = f"the {branch} branch" if branch in step.branches else "next"
    return StepOutcome(
        branch,
        target,
        reason=f"{said} after {answer.latency_ms:.0f} ms: {where}",
        detail={
            "status_code": answer.status_code,
            "latency_ms": round(answer.latency_ms, 1),
            "branch": branch,
            "endpoint_id": answer.endpoint_id,
            "webhook_id": key,
            "error": answer.error,
        },
    )
