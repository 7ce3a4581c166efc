"""A journey harness with fakes of the steps' activities: the split answers with the real domain decision over
facts a test sets per contact; contact updates and score adjustments are recorded once per idempotency key; tasks
and webhook calls are kept in memory (what the fake endpoint answers is set per test)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment

from activities.journeys.contracts import (
    ADJUST_SCORE,
    EVALUATE_SPLIT,
    UPDATE_CONTACT,
    AdjustScoreInput,
    AdjustScoreOutput,
    EvaluateSplitInput,
    EvaluateSplitOutput,
    UpdateContactInput,
    UpdateContactOutput,
)
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
from domain.journeys.steps.split_conditions import SplitFacts, decide
from tests.workflows.conftest import JourneyHarness


@dataclass
class FakeTask:
    request: CreateTaskInput
    assignee: str
    status: str = "open"
    outcome: str | None = None


@dataclass
class StepHarness(JourneyHarness):
    facts: dict[str, SplitFacts] = field(default_factory=dict)  # by contact id; absent: nothing known
    splits: list[EvaluateSplitInput] = field(default_factory=list)
    updates: list[UpdateContactInput] = field(default_factory=list)
    adjustments: list[AdjustScoreInput] = field(default_factory=list)
    applied: set[str] = field(default_factory=set)  # idempotency keys
    fail_first: int = 0  # attempts of update/adjust that fail before one succeeds
    missing_contacts: set[str] = field(default_factory=set)
    scores: dict[tuple[str, str], float] = field(default_factory=dict)  # (contact, group) -> score
    split_failure: BaseException | None = None  # raised by every split evaluation

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

    @activity.defn(name=EVALUATE_SPLIT)
    async def evaluate_split(self, request: EvaluateSplitInput) -> EvaluateSplitOutput:
        self.splits.append(request)
        if self.split_failure is not None:
            raise self.split_failure
        facts = self.facts.get(request.contact_id, SplitFacts())
        decision = decide([branch.condition for branch in request.branches], facts)
        return EvaluateSplitOutput(branch=decision.branch, reason=decision.reason, facts=facts)

    def _apply(self, key: str, contact_id: str) -> str:
        if self.fail_first > 0:
            self.fail_first -= 1
            raise RuntimeError("database unavailable")
        if contact_id in self.missing_contacts:
            return "contact_missing"
        if key in self.applied:
            return "already_applied"
        self.applied.add(key)
        return "applied"

    @activity.defn(name=UPDATE_CONTACT)
    async def update_contact(self, request: UpdateContactInput) -> UpdateContactOutput:
        self.updates.append(request)
        status = self._apply(request.idempotency_key, request.contact_id)
        if status == "contact_missing":
            return UpdateContactOutput(status="contact_missing")
        changed = {**request.set, **dict.fromkeys(request.unset)}
        return UpdateContactOutput(status="updated" if status == "applied" else "already_applied", changed=changed)

    @activity.defn(name=ADJUST_SCORE)
    async def adjust_score(self, request: AdjustScoreInput) -> AdjustScoreOutput:
        self.adjustments.append(request)
        status = self._apply(request.idempotency_key, request.contact_id)
        if status == "contact_missing":
            return AdjustScoreOutput(status="contact_missing")
        where = (request.contact_id, request.group)
        if status == "applied":
            self.scores[where] = self.scores.get(where, 0.0) + request.delta
        score = self.scores.get(where, 0.0)
        return AdjustScoreOutput(status="applied" if status == "applied" else "already_applied", score=score)

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

    def extra_activities(self) -> list[Any]:
        return [
            self.evaluate_split,
            self.update_contact,
            self.adjust_score,
            self.create_task,
            self.escalate_task,
            self.expire_task,
            self.cancel_task,
            self.queue_webhook,
            self.call_webhook,
        ]


@pytest.fixture
async def steps(env: WorkflowEnvironment) -> AsyncIterator[StepHarness]:
    harness = StepHarness(env)
    async with harness.worker():
        yield harness
