"""The goal step on the time-skipping server: the run ends there as a conversion."""

from __future__ import annotations

from tests.workflows.steps.conftest import StepHarness
from tests.workflows.steps.journeys import journey, send
from workflows.journey import JourneyWorkflow
from workflows.search_attributes import SA_OUTCOME


async def test_a_goal_step_ends_the_run_as_a_conversion(steps: StepHarness) -> None:
    raw = journey("welcome", send("welcome", "won"), {"id": "won", "type": "goal", "name": "activated"})
    handle = await steps.start(raw)

    result = await handle.result()

    assert (result.status, result.last_step) == ("converted", "won")
    assert result.exit is not None
    assert (result.exit.kind, result.exit.goal_id) == ("goal", "activated")
    state = await handle.query(JourneyWorkflow.query_state)
    last = state.history[-1]
    assert (last.step_id, last.outcome, last.detail) == ("won", "goal", {"goal": "activated"})
    assert last.finished_at is not None
    described = await handle.describe()
    assert described.typed_search_attributes.get(SA_OUTCOME) == "converted"
