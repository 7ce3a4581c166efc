"""The Temporal Schedule that refreshes time-based segments periodically (created or updated at worker start)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client, Schedule

from activities.segments.contracts import REFRESH_SCHEDULE_ID, REFRESH_WORKFLOW, RefreshInput
from mauntic.schedules import ensure_schedule, every


def refresh_schedule(interval: timedelta, task_queue: str) -> Schedule:
    return every(interval, REFRESH_WORKFLOW, RefreshInput(), REFRESH_SCHEDULE_ID, task_queue)


async def ensure_refresh_schedule(client: Client, interval: timedelta, task_queue: str) -> bool:
    """Create the schedule, or bring an existing one to this definition. True when it was created."""
    return await ensure_schedule(client, REFRESH_SCHEDULE_ID, refresh_schedule(interval, task_queue))
