"""How a journey describes its failures: the reason it shows, whether an activity's failure is final, and the
dead letter of a send that failed for good. Deterministic (called from workflow code)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

from activities.dead_letters.contracts import RecordDeadLetterInput
from activities.journeys.contracts import (
    RECORD_JOURNEY_DEAD_LETTER,
    RecordJourneyDeadLetterInput,
    RecordJourneyDeadLetterOutput,
    SendJourneyEmailInput,
)
from domain.dead_letters.model import DeadLetterKind
from domain.journeys.runtime import JourneyInput, JourneyState


def reason(err: BaseException) -> str:
    """The failure and the errors that caused it, e.g. "step 'welcome': sending the email failed: 550 no such
    user"; the SDK's generic wrappers ("Activity task failed") are left out."""
    parts: list[str] = []
    cause: BaseException | None = err
    while cause is not None and len(parts) < 5:
        if isinstance(cause, ApplicationError) and cause.message:
            parts.append(cause.message)
        cause = cause.__cause__
    return ": ".join(parts)[:4000] or type(err).__name__


def non_retryable(err: ActivityError | ApplicationError) -> bool:
    if isinstance(err, ActivityError):
        if err.retry_state == RetryState.NON_RETRYABLE_FAILURE:
            return True
        cause = err.cause
        return isinstance(cause, ApplicationError) and cause.non_retryable
    return err.non_retryable


def send_dead_letter(
    request: SendJourneyEmailInput, err: ActivityError | ApplicationError, workflow_id: str, run_id: str
) -> RecordDeadLetterInput:
    """Kind send, subject the step's idempotency key; the input is the send request (ids only)."""
    cause = err.cause if isinstance(err, ActivityError) else err
    retries = ""
    if isinstance(err, ActivityError) and err.retry_state is not None:
        retries = f" (retry state: {err.retry_state.name.lower()})"
    return RecordDeadLetterInput(
        workspace_id=request.workspace_id,
        kind=DeadLetterKind.SEND,
        subject_id=request.idempotency_key,
        workflow_id=workflow_id,
        run_id=run_id,
        activity_id=err.activity_id if isinstance(err, ActivityError) else None,
        journey_id=request.journey_id,
        contact_id=request.contact_id,
        input=request.model_dump(),
        error_type=(cause.type if isinstance(cause, ApplicationError) else None) or type(cause).__name__,
        error=reason(err) + retries,
    )


DEAD_LETTER_TIMEOUT = timedelta(seconds=10)
DEAD_LETTER_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


async def record_journey_dead_letter(journey: JourneyInput, state: JourneyState, err: ApplicationError) -> None:
    """The failed run as a dead letter row (GET /v1/journeys/{id}/dead-letters), written by a local activity on
    the way to failing: no cost to a healthy journey (workflow code)."""
    info = workflow.info()
    request = RecordJourneyDeadLetterInput(
        workspace_id=journey.workspace_id,
        journey_id=journey.journey_id,
        version=journey.version,
        contact_id=journey.contact_id,
        workflow_id=info.workflow_id,
        run_id=info.run_id,
        step_id=state.current_step,
        error_type=err.type or "ApplicationError",
        reason=state.error or reason(err),
    )
    try:
        await workflow.execute_local_activity(
            RECORD_JOURNEY_DEAD_LETTER,
            request,
            result_type=RecordJourneyDeadLetterOutput,
            start_to_close_timeout=DEAD_LETTER_TIMEOUT,
            retry_policy=DEAD_LETTER_RETRY,
            schedule_to_close_timeout=timedelta(hours=1),
        )
    except (ActivityError, ApplicationError):
        workflow.logger.warning("journey %s: its dead letter could not be recorded", info.workflow_id)
