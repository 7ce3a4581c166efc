"""Temporal Schedules, written once: an interval Schedule starting one workflow, and ensuring it (create, or bring
an existing one to this definition), as the worker does at start-up and sending domains do per domain."""

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


def every(interval: timedelta, workflow: str, arg: object, workflow_id: str, task_queue: str) -> Schedule:
    """Start `workflow(arg)` every `interval` (the Schedule appends the start time to `workflow_id`), skipping a
    start while the previous run is still going."""
    return Schedule(
        action=ScheduleActionStartWorkflow(workflow, arg, id=workflow_id, task_queue=task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=interval)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_schedule(client: Client, schedule_id: str, schedule: Schedule) -> bool:
    """Create the schedule, or bring an existing one to this definition. True when it was created."""
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(replace)
        return False
    return True
