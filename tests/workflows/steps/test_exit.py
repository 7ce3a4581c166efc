"""The exit step on the time-skipping server: the run ends there as an exit, with the designer's reason."""

from __future__ import annotations

from tests.workflows.steps.conftest import StepHarness
from tests.workflows.steps.journeys import journey, send
from workflows.journey import JourneyWorkflow


async def test_an_exit_step_ends_the_run_as_an_exit_with_its_reason(steps: StepHarness) -> None:
    raw = journey("welcome", send("welcome", "out"), {"id": "out", "type": "exit", "reason": "not a fit"})
    handle = await steps.start(raw)
    result = await handle.result()

    assert (result.status, result.last_step) == ("exited", "out")
    assert result.exit is not None
    assert (result.exit.kind, result.exit.reason) == ("exit", "not a fit")
    assert steps.sent_steps == ["welcome"]
    state = await handle.query(JourneyWorkflow.query_state)
    assert [(r.step_id, r.outcome, r.reason) for r in state.history][-1] == ("out", "exit", "not a fit")
