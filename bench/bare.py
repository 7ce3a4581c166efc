"""The journey shape as bare Temporal code, the reference the engine is measured against.

start -> activity (send an email via aiosmtplib) -> wait for a signal -> activity. No database, no templates,
no search attributes: only what Temporal itself costs. With `BareInput.local` the two sends are local activities
(recorded as markers in the workflow's own task, no activity task round trips): the cheapest shape Temporal
allows. `python -m bench.bare --target HOST:PORT --task-queue Q --smtp-port P` runs its worker in its own
process, as the engine's worker runs in its own.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from email.message import EmailMessage

    import aiosmtplib

    from workflows.search_attributes import SA_STEP

WORKFLOW_NAME = "BareJourney"
ACTIVATED_SIGNAL = "activated"
SEND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))


@dataclass
class BareInput:
    contact: str
    email: str
    # Diagnostic: keep a search attribute current at each step, as the engine's journey does (4 upserts).
    upsert_steps: bool = False
    # Send through local activities rather than regular ones.
    local: bool = False


@dataclass
class BareEmail:
    to: str
    subject: str
    text: str
    html: str
    idempotency_key: str


@dataclass
class SmtpTarget:
    host: str
    port: int


class BareActivities:
    def __init__(self, smtp: SmtpTarget) -> None:
        self._smtp = smtp

    @activity.defn(name="bare.send_email")
    async def send_email(self, email: BareEmail) -> str:
        message = EmailMessage()
        message["From"] = "Bench <bench@example.test>"
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Message-ID"] = f"<{email.idempotency_key}@example.test>"
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        await aiosmtplib.send(message, hostname=self._smtp.host, port=self._smtp.port, timeout=10)
        return str(message["Message-ID"])


@workflow.defn(name=WORKFLOW_NAME)
class BareJourney:
    def __init__(self) -> None:
        self._activated = False

    @workflow.signal(name=ACTIVATED_SIGNAL)
    def activated(self) -> None:
        self._activated = True

    @workflow.run
    async def run(self, contact: BareInput) -> str:
        key = workflow.info().workflow_id
        self._step(contact, "welcome")
        welcome = BareEmail(contact.email, "Welcome!", "Your account is ready.", "<p>Ready.</p>", f"{key}:1")
        await self._send(contact, welcome)
        self._step(contact, "await_activation")
        try:
            await workflow.wait_condition(lambda: self._activated, timeout=timedelta(days=3))
        except TimeoutError:
            nudge = BareEmail(contact.email, "Need a hand?", "Reply to this.", "<p>Reply.</p>", f"{key}:n")
            await self._send(contact, nudge)
            return "nudged"
        self._step(contact, "thanks")
        await self._send(
            contact, BareEmail(contact.email, "Thanks for activating", "Enjoy.", "<p>Enjoy.</p>", f"{key}:2")
        )
        self._step(contact, "done")
        return "done"

    @staticmethod
    def _step(contact: BareInput, step: str) -> None:
        if contact.upsert_steps:
            workflow.upsert_search_attributes([SA_STEP.value_set(step)])

    async def _send(self, contact: BareInput, email: BareEmail) -> None:
        if contact.local:
            await workflow.execute_local_activity(
                "bare.send_email", email, start_to_close_timeout=timedelta(seconds=60), retry_policy=SEND_RETRY
            )
            return
        await workflow.execute_activity(
            "bare.send_email", email, start_to_close_timeout=timedelta(seconds=60), retry_policy=SEND_RETRY
        )


@dataclass
class Limits:
    workflow_tasks: int
    activities: int
    max_cached_workflows: int


async def serve(target: str, task_queue: str, smtp: SmtpTarget, limits: Limits) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    client = await Client.connect(target)
    activities = BareActivities(smtp)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[BareJourney],
        activities=[activities.send_email],
        max_concurrent_activities=limits.activities,
        max_concurrent_workflow_tasks=limits.workflow_tasks,
        max_concurrent_local_activities=limits.activities,  # as the engine's worker
        max_cached_workflows=limits.max_cached_workflows,
    )
    async with worker:
        print(f"bare worker polling task queue {task_queue}", flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--smtp-host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, required=True)
    # The engine worker's defaults (MAUNTIC_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS / _ACTIVITIES).
    parser.add_argument("--workflow-tasks", type=int, default=200)
    parser.add_argument("--activities", type=int, default=200)
    # The SDK's default, which the engine's worker keeps: more open workflows than this are evicted and replayed.
    parser.add_argument("--max-cached-workflows", type=int, default=1000)
    args = parser.parse_args()
    smtp = SmtpTarget(args.smtp_host, args.smtp_port)
    limits = Limits(args.workflow_tasks, args.activities, args.max_cached_workflows)
    asyncio.run(serve(args.target, args.task_queue, smtp, limits))


if __name__ == "__main__":
    main()
