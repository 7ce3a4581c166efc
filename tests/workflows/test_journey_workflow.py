"""The journey workflow on the time-skipping server: waits, event waits, timeouts, dedup, state, resume."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from domain.journeys.definition import EndStep, JourneyDefinition, SendEmailStep
from domain.journeys.runtime import (
    EVENT_SIGNAL,
    JourneyEventSignal,
    JourneyResult,
    JourneyResume,
    JourneyState,
    StepRecord,
)
from domain.journeys.triggers import Trigger
from tests.workflows.conftest import TRIGGER_EVENT_ID, JourneyHarness
from workflows.journey import JourneyWorkflow
from workflows.search_attributes import SA_CONTACT, SA_JOURNEY, SA_STEP, SA_VERSION, SA_WORKSPACE

Handle = WorkflowHandle[JourneyWorkflow, JourneyResult]


def send(step_id: str, next_step: str | None = None) -> dict[str, Any]:
    return {
        "id": step_id,
        "type": "send_email",
        "subject": f"{step_id} {{{{ first_name }}}}",
        "text": "hi",
        "next": next_step,
    }


def wait_for_click(step_id: str, timeout: str, on_event: str, on_timeout: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "type": "wait_for_event",
        "event": "clicked",
        "timeout": timeout,
        "on_event": on_event,
        "on_timeout": on_timeout,
        **extra,
    }


def journey(start: str, *steps: dict[str, Any]) -> dict[str, Any]:
    return {"trigger": {"event": "signed_up"}, "start": start, "steps": list(steps)}


# welcome -> wait up to 2 days for a click -> thanks (clicked) or nudge (timed out)
CLICK_OR_NUDGE = journey(
    "welcome",
    send("welcome", "wait_click"),
    wait_for_click("wait_click", "P2D", on_event="thanks", on_timeout="nudge"),
    send("thanks"),
    send("nudge"),
)


def click(event_id: str, **properties: Any) -> JourneyEventSignal:
    return JourneyEventSignal(
        event_id=event_id, name="clicked", properties=properties, timestamp=datetime(2025, 1, 1, tzinfo=UTC)
    )


async def state_when(handle: Handle, predicate: Callable[[JourneyState], bool]) -> JourneyState:
    """Poll the state query until `predicate` holds (time does not skip while we are not awaiting a result)."""
    state = await handle.query(JourneyWorkflow.query_state)
    for _ in range(600):  # up to ~30 s: generous for a loaded CI machine, instant when healthy
        if predicate(state):
            return state
        await asyncio.sleep(0.05)
        state = await handle.query(JourneyWorkflow.query_state)
    raise AssertionError(f"journey state never matched; last: {state}")


def waiting_for_click(state: JourneyState) -> bool:
    return state.waiting_for_event == "clicked"


async def test_wait_step_sleeps_three_days_between_sends(journeys: JourneyHarness) -> None:
    started = await journeys.env.get_current_time()
    handle = await journeys.start(
        journey(
            "welcome",
            send("welcome", "pause"),
            {"id": "pause", "type": "wait", "duration": "P3D", "next": "followup"},
            send("followup"),
        )
    )

    result = await handle.result()

    assert result == JourneyResult(status="completed", last_step="followup", steps_run=3)
    assert journeys.sent_steps == ["welcome", "followup"]
    assert await journeys.env.get_current_time() - started >= timedelta(days=3)
    state = await handle.query(JourneyWorkflow.query_state)
    assert entered(state, "followup") - entered(state, "welcome") >= timedelta(days=3)
    assert [(record.step_id, record.outcome) for record in state.history] == [
        ("welcome", "sent"),
        ("pause", "waited"),
        ("followup", "sent"),
    ]
    assert state.status == "completed"


def entered(state: JourneyState, step_id: str) -> datetime:
    """When the workflow entered the step, in workflow time (a local activity's own timestamps are the worker's
    clock, which the time-skipping server does not move)."""
    [record] = [record for record in state.history if record.step_id == step_id]
    return record.entered_at


def time_in(state: JourneyState, step_id: str) -> timedelta:
    [record] = [record for record in state.history if record.step_id == step_id]
    assert record.finished_at is not None
    return record.finished_at - record.entered_at


async def test_wait_for_event_takes_on_event_branch_when_signalled(journeys: JourneyHarness) -> None:
    handle = await journeys.start(CLICK_OR_NUDGE)
    await state_when(handle, waiting_for_click)

    await handle.signal(EVENT_SIGNAL, click("evt-1"))
    result = await handle.result()

    assert journeys.sent_steps == ["welcome", "thanks"]
    assert result.last_step == "thanks"
    # Workflow time, not env time: after a run completes the test server may still skip to its cancelled timers.
    assert time_in(await handle.query(JourneyWorkflow.query_state), "wait_click") < timedelta(minutes=1)


async def test_wait_for_event_takes_on_timeout_branch_without_event(journeys: JourneyHarness) -> None:
    started = await journeys.env.get_current_time()
    handle = await journeys.start(CLICK_OR_NUDGE)

    await handle.result()

    assert journeys.sent_steps == ["welcome", "nudge"]
    assert await journeys.env.get_current_time() - started >= timedelta(days=2)
    state = await handle.query(JourneyWorkflow.query_state)
    assert [record.outcome for record in state.history] == ["sent", "timeout", "sent"]
    assert timedelta(days=2) <= time_in(state, "wait_click") < timedelta(days=2, minutes=1)


PRICING_CLICK = journey(
    "wait_click",
    wait_for_click(
        "wait_click",
        "P1D",
        on_event="thanks",
        on_timeout="nudge",
        where=[{"property": "link.kind", "op": "eq", "value": "pricing"}],
    ),
    send("thanks"),
    send("nudge"),
)


async def test_event_not_matching_where_does_not_satisfy_the_wait(journeys: JourneyHarness) -> None:
    handle = await journeys.start(PRICING_CLICK)
    await state_when(handle, waiting_for_click)

    await handle.signal(EVENT_SIGNAL, click("evt-1", link={"kind": "blog"}))
    state = await state_when(handle, lambda s: s.pending_events == 1)
    assert state.waiting_for_event == "clicked"  # buffered, but still waiting
    await handle.result()

    assert journeys.sent_steps == ["nudge"]


async def test_event_matching_where_satisfies_the_wait(journeys: JourneyHarness) -> None:
    handle = await journeys.start(PRICING_CLICK)
    await handle.signal(EVENT_SIGNAL, click("evt-1", link={"kind": "blog"}))
    await handle.signal(EVENT_SIGNAL, click("evt-2", link={"kind": "pricing"}))

    await handle.result()

    assert journeys.sent_steps == ["thanks"]
    assert (await handle.query(JourneyWorkflow.query_state)).pending_events == 1  # the blog click is left over


async def test_trigger_event_is_not_consumed_by_a_wait(journeys: JourneyHarness) -> None:
    handle = await journeys.start(CLICK_OR_NUDGE)
    await handle.signal(EVENT_SIGNAL, click(TRIGGER_EVENT_ID))

    await handle.result()

    assert journeys.sent_steps == ["welcome", "nudge"]


async def test_duplicate_event_ids_are_ignored(journeys: JourneyHarness) -> None:
    # Two consecutive waits for a click: one event delivered twice may satisfy only the first.
    handle = await journeys.start(
        journey(
            "first",
            wait_for_click("first", "P1D", on_event="second", on_timeout="none"),
            wait_for_click("second", "P1D", on_event="both", on_timeout="only_one"),
            send("both"),
            send("only_one"),
            send("none"),
        )
    )
    await handle.signal(EVENT_SIGNAL, click("evt-1"))
    await handle.signal(EVENT_SIGNAL, click("evt-1"))

    await handle.result()

    assert journeys.sent_steps == ["only_one"]


async def test_event_received_before_the_wait_is_reached_is_consumed(journeys: JourneyHarness) -> None:
    handle = await journeys.start(
        journey(
            "pause",
            {"id": "pause", "type": "wait", "duration": "P1D", "next": "wait_click"},
            wait_for_click("wait_click", "P2D", on_event="thanks", on_timeout="nudge"),
            send("thanks"),
            send("nudge"),
        )
    )
    await handle.signal(EVENT_SIGNAL, click("evt-early"))
    # buffered while the journey is in the pause (the signal may be seen before the first step is entered)
    state = await state_when(handle, lambda s: s.pending_events == 1 and s.current_step is not None)
    assert state.current_step == "pause"

    await handle.result()

    assert journeys.sent_steps == ["thanks"]
    state = await handle.query(JourneyWorkflow.query_state)
    assert timedelta(days=1) <= time_in(state, "pause") < timedelta(days=1, minutes=1)
    assert time_in(state, "wait_click") < timedelta(minutes=1)  # satisfied on entry by the buffered event


async def test_events_no_step_waits_for_are_not_buffered(journeys: JourneyHarness) -> None:
    handle = await journeys.start(PRICING_CLICK)
    await state_when(handle, waiting_for_click)

    viewed = JourneyEventSignal(event_id="evt-v", name="page_viewed", timestamp=datetime(2025, 1, 1, tzinfo=UTC))
    await handle.signal(EVENT_SIGNAL, viewed)
    await handle.signal(EVENT_SIGNAL, click("evt-1", link={"kind": "blog"}))
    state = await state_when(handle, lambda s: s.pending_events >= 1)

    assert state.pending_events == 1  # signals are handled in order: page_viewed was dropped first
    await handle.result()


async def test_state_query_reports_the_wait_in_progress(journeys: JourneyHarness) -> None:
    handle = await journeys.start(CLICK_OR_NUDGE)

    state = await state_when(handle, waiting_for_click)

    assert state.status == "running"
    assert state.current_step == "wait_click"
    assert [(record.step_id, record.outcome) for record in state.history] == [
        ("welcome", "sent"),
        ("wait_click", None),
    ]
    assert state.wait_until == state.history[1].entered_at + timedelta(days=2)
    await handle.signal(EVENT_SIGNAL, click("evt-1"))
    await handle.result()
    assert (await handle.query(JourneyWorkflow.query_state)).waiting_for_event is None


async def test_search_attributes_show_the_contact_and_current_step(journeys: JourneyHarness) -> None:
    journey_input = journeys.journey_input()
    handle = await journeys.start(CLICK_OR_NUDGE, journey_input)
    await state_when(handle, waiting_for_click)

    attributes = (await handle.describe()).typed_search_attributes

    assert attributes.get(SA_STEP) == "wait_click"
    assert attributes.get(SA_WORKSPACE) == "ws1"
    assert attributes.get(SA_JOURNEY) == "onboarding"
    assert attributes.get(SA_VERSION) == 3
    assert attributes.get(SA_CONTACT) == journey_input.contact_id
    await handle.result()
    assert (await handle.describe()).typed_search_attributes.get(SA_STEP) == "nudge"


async def test_send_uses_a_run_independent_idempotency_key(journeys: JourneyHarness) -> None:
    journey_input = journeys.journey_input()
    handle = await journeys.start(journey("welcome", send("welcome")), journey_input)
    await handle.result()

    [email] = journeys.sent
    assert email.request.idempotency_key == f"journey:ws1:onboarding:{journey_input.contact_id}:welcome"
    assert (email.request.workspace_id, email.request.journey_id, email.request.version) == ("ws1", "onboarding", 3)
    assert email.request.contact_id == journey_input.contact_id
    assert journeys.loads[0].version == 3


async def test_resume_continues_from_the_carried_step_with_its_events(journeys: JourneyHarness) -> None:
    entered = datetime(2025, 1, 1, tzinfo=UTC)
    resume = JourneyResume(
        step_id="wait_click",
        pending_events=[click("evt-carried")],
        seen_event_ids=["evt-carried", "evt-seen"],
        history=[StepRecord(step_id="welcome", type="send_email", entered_at=entered, outcome="sent")],
    )
    handle = await journeys.start(CLICK_OR_NUDGE, journeys.journey_input(resume))

    result = await handle.result()

    assert journeys.sent_steps == ["thanks"]  # welcome ran in the previous run
    assert result.steps_run == 3


async def test_resume_mid_wait_keeps_the_original_deadline(journeys: JourneyHarness) -> None:
    now = await journeys.env.get_current_time()
    resume = JourneyResume(
        step_id="wait_click",
        history=[StepRecord(step_id="wait_click", type="wait_for_event", entered_at=now - timedelta(days=2))],
        wait_deadline=now + timedelta(hours=1),
    )
    handle = await journeys.start(CLICK_OR_NUDGE, journeys.journey_input(resume))

    await handle.result()

    assert journeys.sent_steps == ["nudge"]
    state = await handle.query(JourneyWorkflow.query_state)
    assert now + timedelta(hours=1) <= entered(state, "nudge") < now + timedelta(days=1)
    history = state.history
    assert [(record.step_id, record.outcome) for record in history] == [("wait_click", "timeout"), ("nudge", "sent")]


async def test_a_step_pointing_nowhere_fails_the_journey(journeys: JourneyHarness) -> None:
    # Constructed directly, skipping validate_definition, as a corrupted stored version would be.
    broken = JourneyDefinition(
        trigger=Trigger(event="signed_up"),
        start="welcome",
        steps=[SendEmailStep(id="welcome", subject="hi", text="hi", next="ghost"), EndStep(id="done")],
    )
    handle = await journeys.start(broken)

    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "UnknownStep"
    assert (await handle.query(JourneyWorkflow.query_state)).status == "failed"


async def test_a_permanently_failed_send_fails_the_journey(journeys: JourneyHarness) -> None:
    journeys.reject_sends = True
    handle = await journeys.start(CLICK_OR_NUDGE)

    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "JourneyStepFailed"
    assert journeys.sent_steps == ["welcome"]  # non-retryable: one attempt, and no later steps
    state = await handle.query(JourneyWorkflow.query_state)
    assert (state.status, state.history[-1].outcome) == ("failed", "failed")
    assert state.error == "step 'welcome': sending the email failed: provider rejected the message"
    [letter] = journeys.dead_letters
    assert (letter.step_id, letter.error_type, letter.reason) == ("welcome", "JourneyStepFailed", state.error)
    assert letter.workflow_id == handle.id


async def test_a_version_that_cannot_be_loaded_fails_the_journey_with_a_dead_letter(journeys: JourneyHarness) -> None:
    """A load refused for good (too large to carry, no longer valid) ends the journey visibly, once."""
    handle = await journeys.start(CLICK_OR_NUDGE)
    journeys.definition = None  # the fake refuses the load, non-retryably

    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "JourneyVersionUnavailable"
    state = await handle.query(JourneyWorkflow.query_state)
    assert state.status == "failed"
    assert state.error is not None
    assert state.error.endswith("could not be loaded: no definition configured")
    assert [(d.error_type, d.step_id) for d in journeys.dead_letters] == [("JourneyVersionUnavailable", None)]
    assert journeys.sent == []


async def test_a_recorded_history_replays_deterministically(journeys: JourneyHarness) -> None:
    handle = await journeys.start(PRICING_CLICK)
    await state_when(handle, waiting_for_click)
    await handle.signal(EVENT_SIGNAL, click("evt-1", link={"kind": "blog"}))
    await handle.signal(EVENT_SIGNAL, click("evt-2", link={"kind": "pricing"}))
    await handle.result()

    replayer = Replayer(workflows=[JourneyWorkflow], data_converter=pydantic_data_converter)
    replay = await replayer.replay_workflow(await handle.fetch_history(), raise_on_replay_failure=False)

    assert replay.replay_failure is None
