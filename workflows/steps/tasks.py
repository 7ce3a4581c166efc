"""The human_task and linkedin_task steps (workflow code): create the task row, wait for its completion (the
`task_completed` notice the tasks API signals), escalate once when the SLA timer fires first, expire it at its due
time, and branch on the outcome.

The times count from when the contact entered the step (the step record's `entered_at`, carried across
continue-as-new with the record), and what was decided so far lives in the record's detail (`task_id`,
`escalated`, `decisions`): a run resumed in the middle of the step picks up where it stood. Every write is a
local activity, idempotent: the task is keyed on the step's idempotency key.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
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
    from domain.journeys.runtime import JourneyExit, JourneyNotice, JourneyState
    from domain.journeys.steps.tasks import OVERDUE, TASK_COMPLETED, TaskStepBase
    from workflows.steps.context import JourneyRun, StepOutcome

TASK_WRITE_TIMEOUT = timedelta(seconds=10)
# A database outage is measured in time: keep trying for an hour, then the journey fails visibly.
TASK_WRITE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
TASK_WRITE_GIVE_UP = timedelta(hours=1)


async def _write(name: str, request: Any, result_type: type[Any]) -> Any:
    return await workflow.execute_local_activity(
        name,
        request,
        result_type=result_type,
        start_to_close_timeout=TASK_WRITE_TIMEOUT,
        retry_policy=TASK_WRITE_RETRY,
        schedule_to_close_timeout=TASK_WRITE_GIVE_UP,
    )


def _decide(journey: JourneyRun, decision: str, **facts: Any) -> None:
    decisions: list[dict[str, Any]] = journey.record.detail.setdefault("decisions", [])
    decisions.append({"decision": decision, "at": workflow.now().isoformat(), **facts})


def _at(start: datetime, length: timedelta | None) -> datetime | None:
    return start + length if length is not None else None


async def run_task(journey: JourneyRun, step: TaskStepBase) -> StepOutcome:
    if journey.state.holdout:
        return StepOutcome("holdout", step.next, reason="in the holdout group: no task is created")
    record = journey.record
    detail = record.detail
    due_at = _at(record.entered_at, step.due)
    sla_at = _at(record.entered_at, step.sla_length())
    if "task_id" not in detail:
        await journey.hold_while_paused()
        created: CreateTaskOutput = await _write(
            CREATE_JOURNEY_TASK,
            CreateTaskInput(
                workspace_id=journey.input.workspace_id,
                journey_id=journey.input.journey_id,
                version=journey.input.version,
                step_id=step.id,
                contact_id=journey.input.contact_id,
                workflow_id=workflow.info().workflow_id,
                idempotency_key=journey.idempotency_key(step.id),
                due_at=due_at,
                sla_at=sla_at,
            ),
            CreateTaskOutput,
        )
        detail["task_id"] = created.task_id
        detail["assignee"] = created.assignee
        _decide(journey, "created", task_id=created.task_id, assignee=created.assignee, kind=step.task_kind)
        if created.status == "completed" and created.outcome is not None:  # a migrated run finds its task done
            return _completed(journey, step, created.outcome, created.completed_by)
    task_id: str = detail["task_id"]
    answer: list[JourneyNotice] = []

    def completed() -> bool:
        if not answer:
            notice = journey.take_notice(TASK_COMPLETED, task_id)
            if notice is not None:
                answer.append(notice)
        return bool(answer)

    journey.state.waiting_for = f"task {task_id} to be completed"
    try:
        if sla_at is not None and step.sla is not None and not detail.get("escalated"):
            if not await journey.wait(step.id, None, completed, until=sla_at):
                await _escalate(journey, step, task_id)
        if not answer:
            await journey.wait(step.id, None, completed, until=due_at)
    finally:
        journey.state.waiting_for = None
    if answer:
        data = answer[0].data
        return _completed(journey, step, str(data.get("outcome", "")), data.get("by"))
    expired: ExpireTaskOutput = await _write(
        EXPIRE_JOURNEY_TASK, ExpireTaskInput(workspace_id=journey.input.workspace_id, task_id=task_id), ExpireTaskOutput
    )
    if expired.status == "completed" and expired.outcome is not None:  # completed as the due time passed
        return _completed(journey, step, expired.outcome, expired.completed_by)
    _decide(journey, "expired")
    target = step.branches.get(OVERDUE, step.next)
    where = "the overdue branch" if OVERDUE in step.branches else "next"
    return StepOutcome(OVERDUE, target, reason=f"task {task_id} not completed by its due time ({step.due}): {where}",
                       detail=detail)  # fmt: skip


async def _escalate(journey: JourneyRun, step: TaskStepBase, task_id: str) -> None:
    assert step.sla is not None
    rule = step.sla.escalate
    escalated: EscalateTaskOutput = await _write(
        ESCALATE_JOURNEY_TASK,
        EscalateTaskInput(
            workspace_id=journey.input.workspace_id, task_id=task_id, reassign_to=rule.reassign_to, notify=rule.notify
        ),
        EscalateTaskOutput,
    )
    detail = journey.record.detail
    detail["escalated"] = True
    sla_seconds = int(step.sla.after.total_seconds())
    if rule.reassign_to is not None:
        detail["assignee"] = escalated.assignee
        _decide(journey, "escalated", action="reassign", sla_seconds=sla_seconds,
                previous_assignee=escalated.previous_assignee, assignee=escalated.assignee)  # fmt: skip
    else:
        _decide(journey, "escalated", action="notify", sla_seconds=sla_seconds, notify=rule.notify,
                notified=escalated.notified)  # fmt: skip


def _completed(journey: JourneyRun, step: TaskStepBase, outcome: str, by: Any) -> StepOutcome:
    detail = journey.record.detail
    _decide(journey, "completed", outcome=outcome, by=by)
    detail["outcome"] = outcome
    detail["completed_by"] = by
    if outcome in step.branches:
        return StepOutcome(outcome, step.branches[outcome], reason=f"completed with {outcome!r} by {by}: its branch",
                           detail=detail)  # fmt: skip
    known = "no branch for it" if outcome in step.outcomes else "not one of the step's outcomes"
    return StepOutcome(outcome, step.next, reason=f"completed with {outcome!r} by {by}: {known}, next",
                       detail=detail)  # fmt: skip


TASK_STEP_TYPES = frozenset({"human_task", "linkedin_task"})


async def cancel_open_task(state: JourneyState, stop: JourneyExit) -> None:
    """A run that stops at a task step (a goal, an exit criterion, a stop) cancels its open task: nobody should call
    a contact who has just booked the meeting. A migration keeps it: the new version's step of the same id takes the
    same task up (same idempotency key). Runs that stop anywhere else issue no command here."""
    record = state.history[-1] if state.history else None
    if stop.kind == "migrate" or record is None or record.type not in TASK_STEP_TYPES or record.finished_at:
        return
    task_id = record.detail.get("task_id")
    if not isinstance(task_id, str):
        return
    cancelled: CancelTaskOutput = await _write(
        CANCEL_JOURNEY_TASK,
        CancelTaskInput(workspace_id=state.workspace_id, task_id=task_id, reason=f"{stop.kind}: {stop.reason}"),
        CancelTaskOutput,
    )
    decisions: list[dict[str, object]] = record.detail.setdefault("decisions", [])
    decisions.append({"decision": "cancelled", "at": workflow.now().isoformat(), "status": cancelled.status})
