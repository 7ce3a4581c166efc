"""The Temporal Schedules of scoring: the daily recompute of every scored workspace (decay moves scores as time
passes) and the alert expiry every five minutes. The worker ensures both at start-up."""

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

from domain.scoring.runtime import (
    EXPIRE_ALERTS_SCHEDULE_ID,
    EXPIRE_ALERTS_WORKFLOW,
    RECOMPUTE_ALL_WORKFLOW,
    RECOMPUTE_SCHEDULE_ID,
    ExpireAlertsInput,
    RecomputeAllInput,
)

RECOMPUTE_EVERY = timedelta(days=1)
EXPIRE_EVERY = timedelta(minutes=5)


def scoring_schedules(task_queue: str) -> dict[str, Schedule]:
    def every(workflow: str, arg: object, schedule_id: str, interval: timedelta) -> Schedule:
        return Schedule(
            action=ScheduleActionStartWorkflow(workflow, arg, id=schedule_id, task_queue=task_queue),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=interval)]),
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        )

    return {
        RECOMPUTE_SCHEDULE_ID: every(
            RECOMPUTE_ALL_WORKFLOW, RecomputeAllInput(), RECOMPUTE_SCHEDULE_ID, RECOMPUTE_EVERY
        ),
        EXPIRE_ALERTS_SCHEDULE_ID: every(
            EXPIRE_ALERTS_WORKFLOW, ExpireAlertsInput(), EXPIRE_ALERTS_SCHEDULE_ID, EXPIRE_EVERY
        ),
    }


async def ensure_scoring_schedules(client: Client, task_queue: str) -> None:
    """Create the schedules, or bring existing ones to these definitions."""
    for schedule_id, schedule in scoring_schedules(task_queue).items():
        try:
            await client.create_schedule(schedule_id, schedule)
        except ScheduleAlreadyRunningError:

            def replace(_: ScheduleUpdateInput, schedule: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=schedule)

            await client.get_schedule_handle(schedule_id).update(replace)
