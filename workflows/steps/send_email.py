"""The send steps, every channel (send_email, send_sms, send_push; workflow code): one runner. The send policy's
gate first (workflows/steps/send_gate.py: caps, quiet hours; not for a transactional step), then a short local
attempt, the durable activity after a transient failure, and on a failure for good a `send` dead letter and the
step's on_failure branch (or the journey fails). A contact in the holdout group is sent nothing on any channel.

Both paths run the same activity, whose message-log row (pending -> sending -> sent/uncertain, under the step's
idempotency key) keeps an email from going out twice across them: a local attempt cut off mid-send leaves the row
`sending`, and the fallback then records it `uncertain` rather than sending again.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.dead_letters.contracts import RECORD_DEAD_LETTER, RecordDeadLetterOutput
    from activities.journeys.contracts import SEND_JOURNEY_EMAIL, SendJourneyEmailInput, SendJourneyEmailOutput
    from domain.journeys.steps import SEND_CHANNELS
    from workflows.journey_failures import DEAD_LETTER_RETRY, DEAD_LETTER_TIMEOUT, non_retryable, send_dead_letter
    from workflows.journey_patches import SEND_FAILURE_BRANCH
    from workflows.steps.context import JourneyRun, StepOutcome
    from workflows.steps.send_gate import SendStep, pass_send_gate

SEND_TIMEOUT = timedelta(seconds=60)
# Provider outages are measured in time, not attempts: retry with capped backoff for up to a day, after which
# the message is too stale to send and the journey fails visibly instead.
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=0,
)
SEND_GIVE_UP_AFTER = timedelta(days=1)
# The local first attempt: one try, long enough for the whole healthy path and for one provider to time out
# (SMTP 10 s, provider APIs 15 s: settings.smtp_timeout_seconds / provider_timeout_seconds) with the chain moving
# on; the activity stops starting providers 5 s before it. Short enough that a struggling provider hands over to
# the durable retries within half a minute. A local activity past ~80 % of the workflow task timeout (10 s)
# makes the worker heartbeat the task: extra workflow tasks, only on that slow path.
SEND_LOCAL_TIMEOUT = timedelta(seconds=30)
SEND_LOCAL_RETRY = RetryPolicy(maximum_attempts=1)


_MESSAGE = {"email": "the email", "sms": "the SMS", "push": "the push notification"}


async def run_send(journey: JourneyRun, step: SendStep) -> StepOutcome:
    """`step.next` once sent, `step.on_failure` when the send failed for good and the step names a failure branch;
    without one the journey fails."""
    if journey.state.holdout:
        return StepOutcome("holdout", step.next, reason="in the holdout group: nothing is sent")
    await journey.hold_while_paused()
    channel = SEND_CHANNELS[type(step)]
    # Run-independent key: a retried or continued-as-new journey never sends the same step twice.
    request = SendJourneyEmailInput(
        workspace_id=journey.input.workspace_id,
        journey_id=journey.input.journey_id,
        version=journey.input.version,
        step_id=step.id,
        contact_id=journey.input.contact_id,
        idempotency_key=journey.idempotency_key(step.id),
    )
    skipped, decisions = await pass_send_gate(journey, step, channel, request.idempotency_key)
    if skipped is not None:
        return skipped
    try:
        sent = await send_local(request) if journey.send_local_first else None
        if sent is None:
            sent = await workflow.execute_activity(
                SEND_JOURNEY_EMAIL,
                request,
                result_type=SendJourneyEmailOutput,
                start_to_close_timeout=SEND_TIMEOUT,
                schedule_to_close_timeout=SEND_GIVE_UP_AFTER,
                retry_policy=SEND_RETRY,
            )
    except (ActivityError, ApplicationError) as err:
        record = journey.record
        record.finished_at = workflow.now()
        record.outcome = "failed"
        if workflow.patched(SEND_FAILURE_BRANCH):
            await record_send_dead_letter(request, err)
            if step.on_failure is not None:
                return StepOutcome("failed", step.on_failure, reason="the send failed for good: on_failure")
        journey.state.status = "failed"
        raise ApplicationError(
            f"step {step.id!r}: sending {_MESSAGE[channel]} failed", type="JourneyStepFailed", non_retryable=True
        ) from err
    if decisions:
        held = f"sent after the send policy held it {len(decisions)} time(s)"
        return StepOutcome(sent.status, step.next, reason=sent.reason or held, detail={"policy": decisions})
    return StepOutcome(sent.status, step.next, reason=sent.reason)


run_send_email = run_send  # the send_email runner (the name it had before SMS and push)


async def record_send_dead_letter(request: SendJourneyEmailInput, err: ActivityError | ApplicationError) -> None:
    """The send as a dead letter (kind send, subject its idempotency key): replaying it runs the same send
    under the same key, so a message that went out meanwhile is not sent again."""
    info = workflow.info()
    try:
        await workflow.execute_local_activity(
            RECORD_DEAD_LETTER,
            send_dead_letter(request, err, info.workflow_id, info.run_id),
            result_type=RecordDeadLetterOutput,
            start_to_close_timeout=DEAD_LETTER_TIMEOUT,
            retry_policy=DEAD_LETTER_RETRY,
            schedule_to_close_timeout=timedelta(hours=1),
        )
    except (ActivityError, ApplicationError):
        workflow.logger.warning("journey %s: the send dead letter could not be recorded", info.workflow_id)


async def send_local(request: SendJourneyEmailInput) -> SendJourneyEmailOutput | None:
    """One short local attempt; None when it failed in a way a retry may fix (the caller falls back to the
    regular activity). A non-retryable failure (PermanentDeliveryError, TemplateError...) is raised."""
    try:
        sent: SendJourneyEmailOutput = await workflow.execute_local_activity(
            SEND_JOURNEY_EMAIL,
            request,
            result_type=SendJourneyEmailOutput,
            start_to_close_timeout=SEND_LOCAL_TIMEOUT,
            retry_policy=SEND_LOCAL_RETRY,
        )
    except (ActivityError, ApplicationError) as err:  # a local activity's failure can arrive unwrapped
        if non_retryable(err):
            raise
        return None
    return sent
