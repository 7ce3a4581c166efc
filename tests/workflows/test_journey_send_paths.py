"""How a journey sends and what its start carries: a short local attempt first, the regular activity after a
transient failure, none after a permanent one; a definition and trigger in the input (the dispatcher's plain start)."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from domain.journeys.definition import validate_definition
from domain.journeys.runtime import EVENT_SIGNAL
from tests.workflows.conftest import JourneyHarness
from tests.workflows.test_journey_workflow import CLICK_OR_NUDGE, click, state_when, waiting_for_click
from workflows.journey import JourneyWorkflow


async def test_a_healthy_send_is_one_local_attempt(journeys: JourneyHarness) -> None:
    handle = await journeys.start(CLICK_OR_NUDGE)

    await handle.result()

    assert [(email.request.step_id, email.local) for email in journeys.sent] == [("welcome", True), ("nudge", True)]


async def test_a_transient_local_failure_falls_back_to_the_regular_activity(journeys: JourneyHarness) -> None:
    journeys.local_failure = ApplicationError("every provider failed", type="ChainExhausted")
    handle = await journeys.start(CLICK_OR_NUDGE)

    result = await handle.result()

    assert result.status == "completed"
    assert [(email.request.step_id, email.local) for email in journeys.sent] == [
        ("welcome", True),
        ("welcome", False),
        ("nudge", True),
        ("nudge", False),
    ]
    keys = {email.request.idempotency_key for email in journeys.sent if email.request.step_id == "welcome"}
    assert len(keys) == 1, "both paths run under the step's one idempotency key"
    state = await handle.query(JourneyWorkflow.query_state)
    assert [(record.step_id, record.outcome) for record in state.history] == [
        ("welcome", "sent"),
        ("wait_click", "timeout"),
        ("nudge", "sent"),
    ]


async def test_a_non_retryable_local_failure_fails_the_step_without_a_fallback(journeys: JourneyHarness) -> None:
    journeys.local_failure = ApplicationError("550 no such user", type="PermanentDeliveryError", non_retryable=True)
    handle = await journeys.start(CLICK_OR_NUDGE)

    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "JourneyStepFailed"
    assert [(email.request.step_id, email.local) for email in journeys.sent] == [("welcome", True)]
    state = await handle.query(JourneyWorkflow.query_state)
    assert state.error == "step 'welcome': sending the email failed: 550 no such user"
    assert [letter.error_type for letter in journeys.dead_letters] == ["JourneyStepFailed"]


async def test_a_carried_definition_is_run_without_a_load(journeys: JourneyHarness) -> None:
    carried = validate_definition(CLICK_OR_NUDGE)
    handle = await journeys.start(carried, journeys.journey_input(definition=carried))
    await state_when(handle, waiting_for_click)
    await handle.signal(EVENT_SIGNAL, click("evt-1"))

    await handle.result()

    assert journeys.loads == []
    assert journeys.sent_steps == ["welcome", "thanks"]
    history = await handle.fetch_history()
    markers = [event.marker_recorded_event_attributes.marker_name for event in history.events]
    assert "core_patch" not in markers, "a carried start asks no patch (each costs a marker and an upsert)"


async def test_the_trigger_in_the_input_is_not_taken_for_a_wait_event(journeys: JourneyHarness) -> None:
    """A trigger that is also a waited-for event (here "clicked") must not satisfy the wait it leads to."""
    trigger = click("evt-the-trigger")
    carried = validate_definition(CLICK_OR_NUDGE)
    handle = await journeys.start(carried, journeys.journey_input(definition=carried, trigger=trigger))
    await state_when(handle, waiting_for_click)
    await handle.signal(EVENT_SIGNAL, trigger)  # delivered again, e.g. by a retried dispatch

    await handle.result()

    assert journeys.sent_steps == ["welcome", "nudge"]
