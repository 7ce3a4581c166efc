"""Fakes of the task and webhook-step activities, on top of the journey harness (tests/workflows/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.tasks.contracts import (
    CANCEL_JOURNEY_TASK,
    CREATE_JOURNEY_TASK,
    ESCALATE_JOURNEY_TASK,
    EXPIRE_JOURNEY_TASK,
    CancelTaskInput,
    CancelTaskOutput,
    CreateTaskInput,
    CreateTaskOutput,
    EscalateTaskInput,
    EscalateTaskOutput,
    ExpireTaskInput,
    ExpireTaskOutput,
)
from activities.webhooks.contracts import (
    CALL_JOURNEY_WEBHOOK,
    QUEUE_JOURNEY_WEBHOOK,
    CallJourneyWebhookOutput,
    JourneyWebhookInput,
    QueueJourneyWebhookOutput,
)
from tests.workflows.conftest import JourneyHarness
from workflows.journey import JourneyWorkflow
from workflows.runner import workflow_runner


@dataclass
class FakeTask:
    request: CreateTaskInput
    assignee: str
    status: str = "open"
    outcome: str | None = None


@dataclass
class StepHarness(JourneyHarness):
    tasks: dict[str, FakeTask] = field(default_factory=dict)
    creates: int = 0
    escalations: list[EscalateTaskInput] = field(default_factory=list)
    cancelled: list[CancelTaskInput] = field(default_factory=list)
    assignee: str = "rep@example.com"
    queued: list[JourneyWebhookInput] = field(default_factory=list)
    calls: list[JourneyWebhookInput] = field(default_factory=list)
    # what the fake endpoint answers a waited call
    answer: Callable[[JourneyWebhookInput], CallJourneyWebhookOutput] = lambda _r: CallJourneyWebhookOutput(
        status_class="2xx", status_code=200, latency_ms=42.0, endpoint_id="whep_1"
    )

    @activity.defn(name=CREATE_JOURNEY_TASK)
    async def create_task(self, request: CreateTaskInput) -> CreateTaskOutput:
        self.creates += 1
        task_id = f"tsk_{request.step_id}_{request.contact_id}"
        if task_id in self.tasks:
            return CreateTaskOutput(task_id=task_id, assignee=self.tasks[task_id].assignee, created=False)
        self.tasks[task_id] = FakeTask(request, self.assignee)
        return CreateTaskOutput(task_id=task_id, assignee=self.assignee, created=True)

    @activity.defn(name=ESCALATE_JOURNEY_TASK)
    async def escalate_task(self, request: EscalateTaskInput) -> EscalateTaskOutput:
        self.escalations.append(request)
        task = self.tasks[request.task_id]
        previous = task.assignee
        if request.reassign_to is not None:
            task.assignee = request.reassign_to
        return EscalateTaskOutput(
            status=task.status, assignee=task.assignee, previous_assignee=previous, notified=request.notify is not None
        )

    @activity.defn(name=EXPIRE_JOURNEY_TASK)
    async def expire_task(self, request: ExpireTaskInput) -> ExpireTaskOutput:
        task = self.tasks[request.task_id]
        if task.status == "open":
            task.status = "expired"
        return ExpireTaskOutput(status=task.status, outcome=task.outcome)

    @activity.defn(name=CANCEL_JOURNEY_TASK)
    async def cancel_task(self, request: CancelTaskInput) -> CancelTaskOutput:
        task = self.tasks[request.task_id]
        if task.status == "open":
            task.status = "cancelled"
            task.outcome = None
        self.cancelled.append(request)
        return CancelTaskOutput(status=task.status)

    @activity.defn(name=QUEUE_JOURNEY_WEBHOOK)
    async def queue_webhook(self, request: JourneyWebhookInput) -> QueueJourneyWebhookOutput:
        self.queued.append(request)
        return QueueJourneyWebhookOutput(queued=True, delivery_id="msg_1", endpoint_id="whep_1")

    @activity.defn(name=CALL_JOURNEY_WEBHOOK)
    async def call_webhook(self, request: JourneyWebhookInput) -> CallJourneyWebhookOutput:
        self.calls.append(request)
        return self.answer(request)

    def worker(self) -> Worker:
        return Worker(
            self.env.client,
            task_queue=self.task_queue,
            workflows=[JourneyWorkflow],
            workflow_runner=workflow_runner(),
            activities=[
                self.load_version,
                self.send_email,
                self.record_dead_letter,
                self.record_send_dead_letter,
                self.announce_completed,
                self.create_task,
                self.escalate_task,
                self.expire_task,
                self.cancel_task,
                self.queue_webhook,
                self.call_webhook,
            ],
        )


@pytest.fixture
async def steps(env: WorkflowEnvironment) -> AsyncIterator[StepHarness]:
    harness = StepHarness(env)
    async with harness.worker():
        yield harness
