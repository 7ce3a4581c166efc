"""One way for a step to run a quick database read or write as a local activity (workflow code): its timeout and
retries, and a failure for good that fails the journey visibly (its dead letter says which step)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

T = TypeVar("T")

STEP_ACTIVITY_TIMEOUT = timedelta(seconds=10)
# A database that is down is waited for (backoff to 30 s, about 4 minutes in all), then the journey fails with a
# dead letter rather than standing still unseen.
STEP_ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=12,
)


async def run_step_activity(step_id: str, name: str, request: Any, result_type: type[T]) -> T:
    try:
        result: T = await workflow.execute_local_activity(
            name,
            request,
            result_type=result_type,
            start_to_close_timeout=STEP_ACTIVITY_TIMEOUT,
            retry_policy=STEP_ACTIVITY_RETRY,
        )
    except (ActivityError, ApplicationError) as err:  # a local activity's failure can arrive unwrapped
        raise ApplicationError(
            f"step {step_id!r}: {name} failed", type="JourneyStepFailed", non_retryable=True
        ) from err
    return result
