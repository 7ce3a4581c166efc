"""The Temporal Schedule that refreshes time-based segments periodically (created or updated at worker start)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from activities.segments.contracts import REFRESH_SCHEDULE_ID, REFRESH_WORKFLOW, RefreshInput


def refresh_schedule(interval: timedelta, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            REFRESH_WORKFLOW, RefreshInput(), id=REFRESH_SCHEDULE_ID, task_queue=task_queue
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=interval)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_refresh_schedule(client: Client, interval: timedelta, task_queue: str) -> bool:
    """Create the schedule, or bring an existing one to this definition. True when it was created."""
    schedule = refresh_schedule(interval, task_queue)
    try:
        await client.create_schedule(REFRESH_SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(REFRESH_SCHEDULE_ID).update(replace)
        return False
    return True
