"""The holdout on the time-skipping server: a held-out contact goes on, is sent nothing, and still converts."""

from __future__ import annotations

from domain.journeys.assignment import in_holdout
from domain.journeys.runtime import JourneyState
from domain.journeys.steps import STEP_MODELS
from tests.workflows.steps.conftest import StepHarness
from tests.workflows.steps.journeys import journey, send
from workflows.journey import JourneyWorkflow
from workflows.steps import RUNNERS

HOLDOUT = journey(
    "control",
    {"id": "control", "type": "holdout", "percent": 50, "next": "welcome"},
    send("welcome", "bought"),
    {"id": "bought", "type": "goal", "name": "purchase"},
)


def contact_on(side: bool) -> str:
    """A contact id the hash puts in (True) or out of the 50 % holdout."""
    return next(f"c{n}" for n in range(1000) if in_holdout("onboarding", f"c{n}", 50) is side)


async def test_a_held_out_contact_is_sent_nothing_and_its_goal_still_counts(steps: StepHarness) -> None:
    contact = steps.journey_input().model_copy(update={"contact_id": contact_on(True)})
    handle = await steps.start(HOLDOUT, contact)

    result = await handle.result()

    assert result.status == "converted"
    assert result.exit is not None
    assert result.exit.goal_id == "purchase"
    assert steps.sent == []
    state = await handle.query(JourneyWorkflow.query_state)
    assert state.holdout is True
    assert [(r.step_id, r.outcome) for r in state.history] == [
        ("control", "holdout"),
        ("welcome", "holdout"),
        ("bought", "goal"),
    ]
    assert state.history[0].detail["holdout"] is True


async def test_a_contact_outside_the_holdout_is_sent_to_and_says_so(steps: StepHarness) -> None:
    contact = steps.journey_input().model_copy(update={"contact_id": contact_on(False)})
    handle = await steps.start(HOLDOUT, contact)

    result = await handle.result()

    assert result.status == "converted"
    assert steps.sent_steps == ["welcome"]
    state = await handle.query(JourneyWorkflow.query_state)
    assert state.holdout is False
    assert state.history[0].outcome == "treatment"
    assert state.history[0].reason == "not in the 50% holdout"


class HeldOutRun:
    """Just enough of a run for a send runner to see the holdout: anything more it touches fails the test (outside
    a workflow every SDK command raises)."""

    def __init__(self) -> None:
        self.state = JourneyState(workspace_id="ws", journey_id="jr", version=1, contact_id="ct", holdout=True)


async def test_every_send_step_type_skips_for_a_held_out_contact() -> None:
    sends = [model for model in STEP_MODELS if model.model_fields["type"].default.startswith("send_")]
    assert sends  # send_email at least

    for model in sends:
        step = model.model_construct(id="s", next="after")  # type: ignore[call-arg]
        outcome = await RUNNERS[step.type](HeldOutRun(), step)  # type: ignore[arg-type]

        assert (outcome.outcome, outcome.next_step) == ("holdout", "after"), step.type
