"""Human tasks: work a person does for a contact (a call, anything generic, a LinkedIn touch), with an assignee,
a due time, an SLA timer that escalates, and a completion through the API whose outcome picks the branch.

Times count from when the contact entered the step: `sla.after` escalates once (reassign the task, or notify
someone), `due` ends the wait (the task expires, outcome `overdue`). Without `due` the step waits for completion
as long as it takes (a goal, an exit criterion or a stop still end it at once).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from domain.journeys.conditions import Strict
from domain.journeys.durations import WaitDuration
from domain.journeys.steps.base import StepBase, StepId

OVERDUE = "overdue"  # the outcome of a task not completed by its due time (a branch may name it)
TASK_COMPLETED = "task_completed"  # the notice kind a completion is signalled as (key: the task id)
TASK_ESCALATED = "task.escalated"  # the outbound webhook event type of a `notify` escalation
OutcomeName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]
Assignee = Annotated[str, StringConstraints(min_length=1, max_length=320, pattern=r"^[^\s]+$")]


class Escalation(Strict):
    """Exactly one: hand the task to someone else, or notify someone (a `task.escalated` webhook event)."""

    reassign_to: Assignee | None = None
    notify: Assignee | None = None

    @model_validator(mode="after")
    def _one(self) -> Escalation:
        if (self.reassign_to is None) == (self.notify is None):
            raise ValueError("exactly one of reassign_to or notify")
        return self


class TaskSla(Strict):
    after: WaitDuration
    escalate: Escalation


class TaskStepBase(StepBase):
    title: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    instructions: Annotated[str, StringConstraints(max_length=20_000)] = ""
    assignee: Assignee
    due: WaitDuration | None = None
    sla: TaskSla | None = None
    outcomes: list[OutcomeName] = Field(default_factory=lambda: ["done"], min_length=1, max_length=20)
    branches: dict[OutcomeName, StepId] = Field(
        default_factory=dict, description="By outcome (or `overdue`); an outcome without a branch goes to next"
    )
    next: StepId | None = None

    @model_validator(mode="after")
    def _consistent(self) -> TaskStepBase:
        if len(set(self.outcomes)) != len(self.outcomes):
            raise ValueError("outcomes are listed once each")
        if OVERDUE in self.outcomes:
            raise ValueError(f"{OVERDUE!r} is the outcome of a task past its due time, not one to complete with")
        unknown = sorted(set(self.branches) - {*self.outcomes, OVERDUE})
        if unknown:
            raise ValueError(f"branches name outcomes not in outcomes: {', '.join(unknown)}")
        if self.sla is not None and self.due is not None and self.sla.after >= self.due:
            raise ValueError("sla.after must be shorter than due (the escalation would never happen)")
        return self

    @property
    def task_kind(self) -> str:
        raise NotImplementedError

    def successors(self) -> dict[str, str]:
        found = {f"branches.{name}": target for name, target in self.branches.items()}
        if self.next is not None:
            found["next"] = self.next
        return found

    def templates(self) -> dict[str, str]:
        return {"title": self.title, "instructions": self.instructions}

    @property
    def waits(self) -> bool:
        return True

    def sla_length(self) -> timedelta | None:
        return self.sla.after if self.sla is not None else None


class HumanTaskStep(TaskStepBase):
    type: Literal["human_task"] = "human_task"
    kind: Literal["generic", "call"] = "generic"

    @property
    def task_kind(self) -> str:
        return self.kind


class LinkedInTaskStep(TaskStepBase):
    type: Literal["linkedin_task"] = "linkedin_task"
    profile_url: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = "{{ contact.linkedin_url }}"
    message: Annotated[str, StringConstraints(max_length=8_000)] = ""

    @property
    def task_kind(self) -> str:
        return "linkedin"

    def templates(self) -> dict[str, str]:
        return {**super().templates(), "profile_url": self.profile_url, "message": self.message}
