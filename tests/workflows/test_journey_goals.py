"""Goals and exit criteria on the time-skipping server: they act the moment they are met, mid-wait, and the pending
timer is cancelled rather than waited out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType

from domain.journeys.runtime import EVENT_SIGNAL, JourneyEventSignal
from tests.workflows.conftest import JourneyHarness
from tests.workflows.test_journey_workflow import send, state_when
from workflows.journey import JourneyWorkflow

FIVE_DAYS = {"id": "rest", "type": "wait", "duration": "P5D", "next": "follow_up"}


def definition(**policies: Any) -> dict[str, Any]:
    steps = [send("hello", "rest"), FIVE_DAYS, send("follow_up")]
    return {"trigger": {"event": "signed_up"}, "start": "hello", "steps": steps, **policies}


def signal(event_id: str, name: str, kind: str = "event", **properties: Any) -> JourneyEventSignal:
    return JourneyEventSignal(
        event_id=event_id, name=name, properties=properties, timestamp=datetime(2026, 1, 1, tzinfo=UTC), kind=kind
    )


async def test_a_goal_reached_during_a_five_day_wait_exits_at_once_and_cancels_the_timer(
    journeys: JourneyHarness,
) -> None:
    goals = [{"id": "bought", "event": "Order Completed", "where": [{"property": "total", "op": "gt", "value": 0}]}]
    handle = await journeys.start(definition(goals=goals))
    waiting = await state_when(handle, lambda s: s.current_step == "rest" and s.wait_until is not None)

    await handle.signal(EVENT_SIGNAL, signal("e1", "Order Completed", total=0))  # filtered out: not the goal
    await handle.signal(EVENT_SIGNAL, signal("e2", "Order Completed", total=10))
    result = await handle.result()

    assert result.status == "converted"
    assert result.exit is not None
    assert result.exit.goal_id == "bought"
    assert result.exit.event_id == "e2"
    assert journeys.sent_steps == ["hello"]
    events = [e async for e in handle.fetch_history_events()]
    types = [e.event_type for e in events]
    assert EventType.EVENT_TYPE_TIMER_CANCELED in types
    assert EventType.EVENT_TYPE_TIMER_FIRED not in types
    closed = events[-1].event_time.ToDatetime(tzinfo=UTC)
    assert waiting.wait_until is not None
    assert closed < waiting.wait_until - timedelta(days=4)
    state = await handle.query(JourneyWorkflow.query_state)
    assert state.status == "converted"
    assert [(r.step_id, r.outcome) for r in state.history] == [("hello", "sent"), ("rest", "goal")]
    assert "bought" in (state.history[-1].reason or "")


async def test_exit_criteria_on_an_event_an_attribute_and_a_segment_exit(journeys: JourneyHarness) -> None:
    exits = [
        {"event": "Unsubscribed"},
        {"attribute": {"property": "plan", "op": "eq", "value": "churned"}},
        {"segment_exited": "sg_active"},
    ]
    cases = [
        signal("u1", "Unsubscribed"),
        signal("c1", "updated", kind="contact", plan="churned", email="x@example.test"),
        signal("s1", "sg_active", kind="segment_exited"),
    ]
    for case in cases:
        handle = await journeys.start(definition(exit_criteria=exits))
        await state_when(handle, lambda s: s.current_step == "rest")
        await handle.signal(EVENT_SIGNAL, signal("c0", "updated", kind="contact", plan="pro"))  # not met
        await handle.signal(EVENT_SIGNAL, case)
        result = await handle.result()
        assert result.status == "exited", case
        assert result.exit is not None
        assert result.exit.kind == "exit"
        assert result.exit.event_id == case.event_id
    assert journeys.sent_steps == ["hello"] * 3


async def test_a_sequence_exits_on_a_reply_and_an_unrelated_event_changes_nothing(journeys: JourneyHarness) -> None:
    handle = await journeys.start({**definition(), "kind": "sequence"})
    await state_when(handle, lambda s: s.current_step == "rest")
    await handle.signal(EVENT_SIGNAL, signal("x1", "Page Viewed"))
    await handle.signal(EVENT_SIGNAL, signal("r1", "Email Replied"))
    result = await handle.result()
    assert result.status == "exited"
    assert "Email Replied" in (result.exit.reason if result.exit else "")

    untouched = await journeys.start(definition())
    await untouched.signal(EVENT_SIGNAL, signal("r2", "Email Replied"))  # a plain journey has no such exit
    result = await untouched.result()
    assert result.status == "completed"
    assert journeys.sent_steps == ["hello", "hello", "follow_up"]
