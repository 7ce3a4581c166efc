"""A send that fails for good: a `send` dead letter under the step's idempotency key, then the step's on_failure
branch when it has one; without one the journey fails (and its run leaves a journey dead letter as before)."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from domain.journeys.runtime import journey_workflow_id
from tests.workflows.conftest import JourneyHarness
from tests.workflows.test_journey_workflow import journey, send
from workflows.journey import JourneyWorkflow


def send_with_fallback(step_id: str, next_step: str, on_failure: str) -> dict[str, Any]:
    return {**send(step_id, next_step), "on_failure": on_failure}


# welcome -> done, or sorry (a plain-text apology) when welcome cannot be sent
WELCOME_OR_SORRY = journey(
    "welcome",
    send_with_fallback("welcome", "done", on_failure="sorry"),
    send("sorry", "done"),
    {"id": "done", "type": "end"},
)


async def test_a_send_failing_for_good_records_a_dead_letter_and_follows_on_failure(journeys: JourneyHarness) -> None:
    journeys.reject_steps = {"welcome"}
    handle = await journeys.start(WELCOME_OR_SORRY)

    result = await handle.result()

    assert (result.status, result.last_step) == ("completed", "done")
    assert journeys.sent_steps == ["welcome", "sorry"]  # one (local) attempt of the permanent failure, no retry
    state = await handle.query(JourneyWorkflow.query_state)
    outcomes = [(r.step_id, r.outcome) for r in state.history]
    assert outcomes == [("welcome", "failed"), ("sorry", "sent"), ("done", "end")]
    [letter] = journeys.send_dead_letters
    workflow_id = handle.id
    assert (letter.kind, letter.subject_id, letter.workflow_id) == ("send", f"{workflow_id}:welcome", workflow_id)
    assert letter.error_type == "PermanentDeliveryError"
    assert letter.error.startswith("provider rejected the message")
    assert letter.input["step_id"] == "welcome"
    assert letter.input["idempotency_key"] == f"{workflow_id}:welcome"
    assert journeys.dead_letters == []  # the journey itself did not fail


async def test_without_on_failure_the_journey_fails_with_both_dead_letters(journeys: JourneyHarness) -> None:
    journeys.reject_steps = {"welcome"}
    handle = await journeys.start(journey("welcome", send("welcome", "done"), {"id": "done", "type": "end"}))

    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "JourneyStepFailed"
    assert [(d.kind, d.subject_id) for d in journeys.send_dead_letters] == [("send", f"{handle.id}:welcome")]
    assert [(d.error_type, d.step_id) for d in journeys.dead_letters] == [("JourneyStepFailed", "welcome")]


async def test_a_healthy_send_does_not_take_the_failure_branch(journeys: JourneyHarness) -> None:
    handle = await journeys.start(WELCOME_OR_SORRY)

    result = await handle.result()

    assert result.last_step == "done"
    assert journeys.sent_steps == ["welcome"]
    assert journeys.send_dead_letters == []
    assert handle.id == journey_workflow_id("ws1", "onboarding", handle.id.split(":")[-1])
