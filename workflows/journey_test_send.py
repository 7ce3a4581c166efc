"""One test email of a journey step (activities/journeys/sample_send.py), run for the API, which waits for it."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.journeys.contracts import (
        SEND_TEST_EMAIL,
        TEST_SEND_WORKFLOW,
        SendTestEmailInput,
        SendTestEmailOutput,
    )

TEST_SEND_TIMEOUT = timedelta(seconds=30)
TEST_SEND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)


@workflow.defn(name=TEST_SEND_WORKFLOW)
class JourneyTestSend:
    @workflow.run
    async def run(self, request: SendTestEmailInput) -> SendTestEmailOutput:
        result: SendTestEmailOutput = await workflow.execute_activity(
            SEND_TEST_EMAIL,
            request,
            result_type=SendTestEmailOutput,
            start_to_close_timeout=TEST_SEND_TIMEOUT,
            retry_policy=TEST_SEND_RETRY,
        )
        return result
