"""Segment refresh as a workflow: set-based re-evaluation of segments whose filters have time windows.

What the Schedule (`segment-refresh`, every MAUNTIC_SEGMENT_REFRESH_MINUTES) and the API's on-demand refresh
(`POST /v1/segments/{id}/refresh`, id `segment-refresh:{workspace}:{segment}:{time}`) start. One activity per
segment does the work in chunks of contacts in SQL and heartbeats its progress (Temporal UI: the pending
activity's heartbeat details), resuming from it when retried; only contacts whose membership changed produce
outbox rows (segment_entered / segment_exited), which the dispatcher routes to journeys.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.segments.contracts import (
        LIST_TIME_BASED,
        REFRESH_SEGMENT,
        REFRESH_WORKFLOW,
        ListTimeBasedInput,
        ListTimeBasedOutput,
        RefreshInput,
        RefreshOutput,
        RefreshSegmentInput,
        RefreshSegmentOutput,
        SegmentRef,
    )

_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=1)
)


@workflow.defn(name=REFRESH_WORKFLOW)
class SegmentRefresh:
    @workflow.run
    async def run(self, request: RefreshInput) -> RefreshOutput:
        if request.segment_id is not None and request.workspace_id is not None:
            targets = [SegmentRef(workspace_id=request.workspace_id, segment_id=request.segment_id)]
        else:
            listed: ListTimeBasedOutput = await workflow.execute_activity(
                LIST_TIME_BASED,
                ListTimeBasedInput(),
                result_type=ListTimeBasedOutput,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=_RETRY,
            )
            targets = listed.segments
        total = RefreshOutput()
        for target in targets:
            done: RefreshSegmentOutput = await workflow.execute_activity(
                REFRESH_SEGMENT,
                RefreshSegmentInput(workspace_id=target.workspace_id, segment_id=target.segment_id, full=request.full),
                result_type=RefreshSegmentOutput,
                start_to_close_timeout=timedelta(hours=1),
                heartbeat_timeout=timedelta(seconds=60),
                retry_policy=_RETRY,
            )
            total.segments += 1 if done.exists else 0
            total.entered += done.entered
            total.exited += done.exited
        return total
