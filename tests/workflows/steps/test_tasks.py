"""Human and LinkedIn task steps on the time-skipping server: the task is created, the SLA timer escalates
(reassign or notify), a completion signalled as a notice picks the outcome's branch, the due time expires it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from domain.journeys.runtime import (
    CONTROL_SIGNAL,
    NOTICE_SIGNAL,
    JourneyControl,
    JourneyNotice,
    JourneyResult,
    JourneyResume,
    JourneyState,
    StepRecord,
)
from tests.workflows.steps.conftest import FakeTask, StepHarness
from workflows.journey import JourneyWorkflow

Handle = WorkflowHandle[JourneyWorkflow, JourneyResult]


def send(step_id: str) -> dict[str, Any]:
    return {"id": step_id, "type": "send_email", "subject": step_id, "text": "hi"}


def call_task(**extra: Any) -> dict[str, Any]:
    return {
        "id": "call",
        "type": "human_task",
        "kind": "call",
        "title": "Call {{ contact.first_name }}",
        "instructions": "Ask about the renewal",
        "assignee": "rep@example.com",
        "outcomes": ["done", "no_answer"],
        "branches": {"no_answer": "voicemail"},
        "next": "thanks",
        **extra,
    }


def journey(task: dict[str, Any]) -> dict[str, Any]:
    return {"trigger": {"event": "signed_up"}, "start": task["id"], "steps": [task, send("voicemail"), send("thanks")]}


async def state_when(handle: Handle, predicate: Callable[[JourneyState], bool]) -> JourneyState:
    for _ in range(600):
        state = await handle.query(JourneyWorkflow.query_state)
        if predicate(state):
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"journey state never matched; last: {state}")


def waiting_for_task(state: JourneyState) -> bool:
    return (state.waiting_for or "").startswith("task ")


def record(state: JourneyState, step_id: str) -> StepRecord:
    [found] = [r for r in state.history if r.step_id == step_id]
    return found


async def complete(handle: Handle, task_id: str, outcome: str, by: str = "rep@example.com") -> None:
    notice = JourneyNotice(kind="task_completed", key=task_id, data={"outcome": outcome, "by": by})
    await handle.signal(NOTICE_SIGNAL, notice)


async def test_sla_reassigns_then_the_outcome_picks_its_branch(steps: StepHarness) -> None:
    task = call_task(due="P3D", sla={"after": "P1D", "escalate": {"reassign_to": "lead@example.com"}})
    handle = await steps.start(journey(task))
    await state_when(handle, waiting_for_task)
    [task_id] = steps.tasks
    assert steps.escalations == []

    await steps.env.sleep(timedelta(days=1, hours=1))  # the SLA timer fires; the due time is two days off
    await state_when(handle, lambda s: record(s, "call").detail.get("escalated") is True)
    assert [(e.task_id, e.reassign_to) for e in steps.escalations] == [(task_id, "lead@example.com")]
    assert steps.tasks[task_id].assignee == "lead@example.com"

    await complete(handle, task_id, "no_answer", by="lead@example.com")
    result = await handle.result()

    assert result.last_step == "voicemail"
    assert steps.sent_steps == ["voicemail"]
    state = await handle.query(JourneyWorkflow.query_state)
    call = record(state, "call")
    assert call.outcome == "no_answer"
    assert [d["decision"] for d in call.detail["decisions"]] == ["created", "escalated", "completed"]
    escalated, completed = call.detail["decisions"][1:]
    assert (escalated["action"], escalated["previous_assignee"], escalated["assignee"]) == (
        "reassign",
        "rep@example.com",
        "lead@example.com",
    )
    assert (completed["outcome"], completed["by"]) == ("no_answer", "lead@example.com")
    assert "no_answer" in (call.reason or "")
    assert steps.creates == 1
    # due counts from entering the step (the time-skipping server's clock may read a few ms apart across tasks)
    due_at = steps.tasks[task_id].request.due_at
    assert due_at is not None
    assert abs(due_at - (call.entered_at + timedelta(days=3))) < timedelta(seconds=1)


async def test_completed_before_the_sla_is_not_escalated_and_an_outcome_without_branch_goes_next(
    steps: StepHarness,
) -> None:
    task = call_task(sla={"after": "P1D", "escalate": {"notify": "manager@example.com"}})
    handle = await steps.start(journey(task))
    await state_when(handle, waiting_for_task)
    [task_id] = steps.tasks

    await complete(handle, task_id, "done")
    result = await handle.result()

    assert result.last_step == "thanks"
    assert steps.escalations == []
    call = record(await handle.query(JourneyWorkflow.query_state), "call")
    assert (call.outcome, [d["decision"] for d in call.detail["decisions"]]) == ("done", ["created", "completed"])


async def test_notify_escalation_then_the_due_time_expires_the_task_onto_the_overdue_branch(
    steps: StepHarness,
) -> None:
    task = call_task(
        due="P2D",
        sla={"after": "PT4H", "escalate": {"notify": "manager@example.com"}},
        branches={"no_answer": "voicemail", "overdue": "voicemail"},
    )
    handle = await steps.start(journey(task))

    result = await handle.result()  # nobody completes it: time skips to the SLA, then to the due time

    assert result.last_step == "voicemail"
    [task_id] = steps.tasks
    assert [(e.notify, e.reassign_to) for e in steps.escalations] == [("manager@example.com", None)]
    assert steps.tasks[task_id].status == "expired"
    call = record(await handle.query(JourneyWorkflow.query_state), "call")
    assert call.outcome == "overdue"
    assert [d["decision"] for d in call.detail["decisions"]] == ["created", "escalated", "expired"]
    assert call.detail["decisions"][1]["notified"] is True
    assert call.finished_at is not None
    assert timedelta(days=2) <= call.finished_at - call.entered_at < timedelta(days=2, minutes=1)


async def test_an_unknown_outcome_goes_next(steps: StepHarness) -> None:
    handle = await steps.start(journey(call_task()))
    await state_when(handle, waiting_for_task)
    [task_id] = steps.tasks

    await complete(handle, task_id, "maybe")
    result = await handle.result()

    assert result.last_step == "thanks"
    call = record(await handle.query(JourneyWorkflow.query_state), "call")
    assert "not one of the step's outcomes" in (call.reason or "")


async def test_a_notice_for_another_task_does_not_complete_this_one(steps: StepHarness) -> None:
    handle = await steps.start(journey(call_task(due="P1D")))
    await state_when(handle, waiting_for_task)

    await complete(handle, "tsk_someone_else", "no_answer")
    result = await handle.result()

    assert result.last_step == "thanks"  # expired at its due time, no overdue branch: next
    assert record(await handle.query(JourneyWorkflow.query_state), "call").outcome == "overdue"


async def test_linkedin_task_is_a_task_of_its_own_kind(steps: StepHarness) -> None:
    task = {
        "id": "connect",
        "type": "linkedin_task",
        "title": "Connect with {{ contact.first_name }}",
        "message": "Hi {{ contact.first_name }}, good to meet you",
        "assignee": "sdr@example.com",
        "next": "thanks",
    }
    handle = await steps.start({"trigger": {"event": "signed_up"}, "start": "connect", "steps": [task, send("thanks")]})
    state = await state_when(handle, waiting_for_task)
    [task_id] = steps.tasks
    assert record(state, "connect").detail["decisions"][0]["kind"] == "linkedin"

    await complete(handle, task_id, "done")

    assert (await handle.result()).last_step == "thanks"


async def test_a_run_stopped_at_the_task_cancels_it(steps: StepHarness) -> None:
    handle = await steps.start(journey(call_task(due="P3D")))
    await state_when(handle, waiting_for_task)
    [task_id] = steps.tasks

    await handle.signal(CONTROL_SIGNAL, JourneyControl(action="stop", reason="the journey was stopped"))
    result = await handle.result()

    assert result.status == "exited"
    assert [(c.task_id, c.reason) for c in steps.cancelled] == [(task_id, "stop: the journey was stopped")]
    assert steps.tasks[task_id].status == "cancelled"
    call = record(await handle.query(JourneyWorkflow.query_state), "call")
    assert [d["decision"] for d in call.detail["decisions"]] == ["created", "cancelled"]
    assert steps.sent_steps == []


async def test_a_run_resumed_in_the_middle_of_the_step_keeps_its_task_and_its_times(steps: StepHarness) -> None:
    """As after a continue-as-new: the record carries the task and the escalation done; nothing is redone, and the
    due time still counts from when the contact entered the step."""
    now = await steps.env.get_current_time()
    entered = now - timedelta(days=2)
    task_id = "tsk_resumed"
    detail = {"task_id": task_id, "escalated": True, "decisions": [{"decision": "created"}]}
    carried = StepRecord(step_id="call", type="human_task", entered_at=entered, detail=detail)
    task = call_task(due="P3D", sla={"after": "P1D", "escalate": {"reassign_to": "lead@example.com"}})
    run = steps.journey_input(resume=JourneyResume(step_id="call", history=[carried]))
    steps.definition = None
    handle = await steps.start(journey(task), run)
    steps.tasks[task_id] = FakeTask(request=None, assignee="lead@example.com")  # type: ignore[arg-type]

    result = await handle.result()  # nobody completes it: it expires a day later, at entered + 3 days

    assert result.last_step == "thanks"
    assert (steps.creates, steps.escalations) == (0, [])
    call = record(await handle.query(JourneyWorkflow.query_state), "call")
    assert call.outcome == "overdue"
    assert call.finished_at is not None
    assert entered + timedelta(days=3) <= call.finished_at < entered + timedelta(days=3, minutes=1)
