"""Record histories of the task and webhook steps for the replay test: `python -m tests.replay.record_tasks v6`.

Same rules as tests/replay/record.py: commit new files beside the old ones, which must keep replaying."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from activities.webhooks.contracts import CallJourneyWebhookOutput
from domain.journeys.runtime import CONTROL_SIGNAL, JourneyControl
from tests.replay.recording import recording_env, write_histories
from tests.workflows.steps import test_tasks as tasks
from tests.workflows.steps import test_webhook_step as hooks
from tests.workflows.steps.conftest import StepHarness


async def record(version: str) -> list[Path]:
    env = await recording_env()
    try:
        harness = StepHarness(env)
        async with harness.worker():
            sla = {"after": "P1D", "escalate": {"reassign_to": "lead@example.com"}}
            escalated = await harness.start(tasks.journey(tasks.call_task(due="P3D", sla=sla)))
            await tasks.state_when(escalated, tasks.waiting_for_task)
            await env.sleep(timedelta(days=1, hours=1))
            await tasks.state_when(escalated, lambda s: tasks.record(s, "call").detail.get("escalated") is True)
            [task_id] = harness.tasks
            await tasks.complete(escalated, task_id, "no_answer")
            await escalated.result()
            expired = await harness.start(tasks.journey(tasks.call_task(due="P1D")))
            await expired.result()
            stopped = await harness.start(tasks.journey(tasks.call_task(due="P3D")))
            await tasks.state_when(stopped, tasks.waiting_for_task)
            await stopped.signal(CONTROL_SIGNAL, JourneyControl(action="stop", reason="stopped"))
            await stopped.result()
            queued = await harness.start(hooks.journey(hooks.hook()))
            await queued.result()
            harness.answer = lambda _r: CallJourneyWebhookOutput(status_class="5xx", status_code=503, latency_ms=9.0)
            waited = await harness.start(hooks.journey(hooks.WAITED))
            await waited.result()
            shapes = (
                ("task_escalated_completed", escalated),
                ("task_expired", expired),
                ("task_cancelled", stopped),
                ("webhook_queued", queued),
                ("webhook_waited_5xx", waited),
            )
            written = await write_histories(version, shapes)
    finally:
        await env.shutdown()
    return written


if __name__ == "__main__":
    for written_path in asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "v6")):
        print(written_path)  # noqa: T201
