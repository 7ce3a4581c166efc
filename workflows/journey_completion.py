"""journey.completed: how a journey whose workspace takes it announces its normal end (workflow code).

One local activity (no extra workflow task), run as the journey's last command, only when the input says so
(JourneyInput.announce_completion, set by the dispatcher) and under workflow.patched("announce-completion") (asked
by the caller). Its failure does not fail the journey, which did complete."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.journeys.contracts import (
        ANNOUNCE_JOURNEY_COMPLETED,
        AnnounceJourneyCompletedInput,
        AnnounceJourneyCompletedOutput,
    )
    from domain.journeys.runtime import JourneyInput

ANNOUNCE_TIMEOUT = timedelta(seconds=10)
ANNOUNCE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


async def announce_completion(journey: JourneyInput, last_step: str | None, steps_run: int) -> None:
    request = AnnounceJourneyCompletedInput(
        workspace_id=journey.workspace_id,
        journey_id=journey.journey_id,
        version=journey.version,
        contact_id=journey.contact_id,
        workflow_id=workflow.info().workflow_id,
        last_step=last_step,
        steps_run=steps_run,
    )
    try:
        await workflow.execute_local_activity(
            ANNOUNCE_JOURNEY_COMPLETED,
            request,
            result_type=AnnounceJourneyCompletedOutput,
            start_to_close_timeout=ANNOUNCE_TIMEOUT,
            retry_policy=ANNOUNCE_RETRY,
            schedule_to_close_timeout=timedelta(hours=1),
        )
    except (ActivityError, ApplicationError):
        workflow.logger.warning("journey %s: its completion could not be announced", request.workflow_id)
