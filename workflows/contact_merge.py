"""A contact merge (`contact-merge:{ws}:{merged}`) or unmerge (`contact-unmerge:{ws}:{merge}`): one transaction
moving the rows (activities/identity/merge.py), then, on a merge under the `exit` journeys policy, the merged
contact's running journey executions stopped with reason `merged`."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.identity.contracts import (
        EXIT_JOURNEYS,
        MERGE_ROWS,
        MERGE_WORKFLOW,
        UNMERGE_ROWS,
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
        if result.exit_journeys:
            await workflow.execute_activity(
                EXIT_JOURNEYS,
                result,
                result_type=int,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=MERGE_RETRY,
            )
        return result
