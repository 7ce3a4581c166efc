"""A contact merge (`contact-merge:{ws}:{merge}`) or unmerge (`contact-unmerge:{ws}:{merge}`): one transaction
moving the rows (activities/identity/merge.py), then, after a merge, the merged contact's running journey
executions handed over to the survivor or stopped with reason `merged`, by the workspace's policy
(activities/identity/journeys.py). Each activity is idempotent, so retries and a restarted workflow are safe."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.identity.contracts import (
        MERGE_ROWS,
        MERGE_WORKFLOW,
        MOVE_JOURNEYS,
        UNMERGE_ROWS,
        JourneysMoved,
        MergeInput,
        MergeResult,
    )

MERGE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@workflow.defn(name=MERGE_WORKFLOW)
class ContactMergeWorkflow:
    @workflow.run
    async def run(self, request: MergeInput) -> MergeResult:
        result: MergeResult = await workflow.execute_activity(
            MERGE_ROWS if request.action == "merge" else UNMERGE_ROWS,
            request,
            result_type=MergeResult,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=MERGE_RETRY,
        )
        if request.action == "merge" and (result.hand_over or result.exit_journeys):
            await workflow.execute_activity(
                MOVE_JOURNEYS,
                result,
                result_type=JourneysMoved,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=MERGE_RETRY,
            )
        return result
