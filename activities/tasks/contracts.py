"""Names and models of the activities journey task steps call (human_task, linkedin_task): local activities,
quick writes of the task row."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

CREATE_JOURNEY_TASK = "tasks.create"
ESCALATE_JOURNEY_TASK = "tasks.escalate"
EXPIRE_JOURNEY_TASK = "tasks.expire"
CANCEL_JOURNEY_TASK = "tasks.cancel"


class CreateTaskInput(BaseModel):
    """The task of a step for a contact; the same idempotency key gives the same task (a retried activity, a
    continued-as-new run)."""

    workspace_id: str
    journey_id: str
    version: int
    step_id: str
    contact_id: str
    workflow_id: str
    idempotency_key: str
    due_at: datetime | None = None
    sla_at: datetime | None = None


class CreateTaskOutput(BaseModel):
    task_id: str
    assignee: str
    created: bool  # False: it existed already (this is a retry)
    status: str = "open"  # an existing task may be completed already (its outcome and who, then)
    outcome: str | None = None
    completed_by: str | None = None


class EscalateTaskInput(BaseModel):
    workspace_id: str
    task_id: str
    reassign_to: str | None = None
    notify: str | None = None


class EscalateTaskOutput(BaseModel):
    status: str  # the task's status: an escalation only changes an open task
    assignee: str
    previous_assignee: str
    notified: bool  # a task.escalated webhook event was queued (an endpoint of the workspace takes it)


class ExpireTaskInput(BaseModel):
    workspace_id: str
    task_id: str


class ExpireTaskOutput(BaseModel):
    """`status` after the call: expired, or completed when a completion got there first (its outcome and who)."""

    status: str
    outcome: str | None = None
    completed_by: str | None = None


class CancelTaskInput(BaseModel):
    """The contact's run ended while the task was open: nobody should work on it any more."""

    workspace_id: str
    task_id: str
    reason: str


class CancelTaskOutput(BaseModel):
    status: str  # cancelled, or what it was when it was no longer open


ACTIVITIES = [CREATE_JOURNEY_TASK, ESCALATE_JOURNEY_TASK, EXPIRE_JOURNEY_TASK, CANCEL_JOURNEY_TASK]
