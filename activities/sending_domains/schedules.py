"""The Temporal Schedule that re-checks a verified domain periodically."""

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
from temporalio.service import RPCError, RPCStatusCode

from domain.sending_domains.runtime import RECHECK_WORKFLOW, RecheckInput, recheck_schedule_id


def recheck_schedule(workspace_id: str, domain_id: str, interval: timedelta, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            RECHECK_WORKFLOW,
            RecheckInput(workspace_id=workspace_id, domain_id=domain_id),
            id=recheck_schedule_id(workspace_id, domain_id),  # the Schedule appends the start time
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=interval)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_recheck_schedule(
    client: Client, workspace_id: str, domain_id: str, interval: timedelta, task_queue: str
) -> bool:
    """Create the schedule, or bring an existing one to this definition. True when it was created."""
    schedule_id = recheck_schedule_id(workspace_id, domain_id)
    schedule = recheck_schedule(workspace_id, domain_id, interval, task_queue)
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(replace)
        return False
    return True


async def delete_recheck_schedule(client: Client, workspace_id: str, domain_id: str) -> bool:
    """Delete the schedule; False when there was none."""
    try:
        await client.get_schedule_handle(recheck_schedule_id(workspace_id, domain_id)).delete()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True
