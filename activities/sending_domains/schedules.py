"""The Temporal Schedule that re-checks a verified domain periodically."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client, Schedule
from temporalio.service import RPCError, RPCStatusCode

from domain.sending_domains.runtime import RECHECK_WORKFLOW, RecheckInput, recheck_schedule_id
from mauntic.schedules import ensure_schedule, every


def recheck_schedule(workspace_id: str, domain_id: str, interval: timedelta, task_queue: str) -> Schedule:
    schedule_id = recheck_schedule_id(workspace_id, domain_id)
    return every(interval, RECHECK_WORKFLOW, RecheckInput(workspace_id=workspace_id, domain_id=domain_id),
                 schedule_id, task_queue)  # fmt: skip


async def ensure_recheck_schedule(
    client: Client, workspace_id: str, domain_id: str, interval: timedelta, task_queue: str
) -> bool:
    """Create the schedule, or bring an existing one to this definition. True when it was created."""
    schedule = recheck_schedule(workspace_id, domain_id, interval, task_queue)
    return await ensure_schedule(client, recheck_schedule_id(workspace_id, domain_id), schedule)


async def delete_recheck_schedule(client: Client, workspace_id: str, domain_id: str) -> bool:
    """Delete the schedule; False when there was none."""
    try:
        await client.get_schedule_handle(recheck_schedule_id(workspace_id, domain_id)).delete()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True
