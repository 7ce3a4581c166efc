"""The Temporal Schedules of scoring: the daily recompute of every scored workspace (decay moves scores as time
passes) and the alert expiry every five minutes. The worker ensures both at start-up."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client, Schedule

from domain.scoring.runtime import (
    EXPIRE_ALERTS_SCHEDULE_ID,
    EXPIRE_ALERTS_WORKFLOW,
    RECOMPUTE_ALL_WORKFLOW,
    RECOMPUTE_SCHEDULE_ID,
    ExpireAlertsInput,
    RecomputeAllInput,
)
from mauntic.schedules import ensure_schedule, every

RECOMPUTE_EVERY = timedelta(days=1)
EXPIRE_EVERY = timedelta(minutes=5)


def scoring_schedules(task_queue: str) -> dict[str, Schedule]:
    return {
        RECOMPUTE_SCHEDULE_ID: every(
            RECOMPUTE_EVERY, RECOMPUTE_ALL_WORKFLOW, RecomputeAllInput(), RECOMPUTE_SCHEDULE_ID, task_queue
        ),
        EXPIRE_ALERTS_SCHEDULE_ID: every(
            EXPIRE_EVERY, EXPIRE_ALERTS_WORKFLOW, ExpireAlertsInput(), EXPIRE_ALERTS_SCHEDULE_ID, task_queue
        ),
    }


async def ensure_scoring_schedules(client: Client, task_queue: str) -> None:
    """Create the schedules, or bring existing ones to these definitions."""
    for schedule_id, schedule in scoring_schedules(task_queue).items():
        await ensure_schedule(client, schedule_id, schedule)
