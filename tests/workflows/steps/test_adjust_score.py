"""The adjust_score step on the time-skipping server: one local activity under the step's idempotency key."""

from __future__ import annotations

from tests.workflows.steps.conftest import StepHarness
from tests.workflows.steps.journeys import journey, send
from workflows.journey import JourneyWorkflow

ADJUST = journey(
    "bump",
    {"id": "bump", "type": "adjust_score", "group": "lead", "delta": 5, "next": "welcome"},
    send("welcome"),
)


async def test_the_delta_is_applied_once_and_recorded(steps: StepHarness) -> None:
    steps.fail_first = 1  # the first attempt fails: the retry carries the same key
    handle = await steps.start(ADJUST)

    result = await handle.result()

    assert result.status == "completed"
    assert [(a.group, a.delta, a.idempotency_key) for a in steps.adjustments] == [
        ("lead", 5.0, f"{handle.id}:bump"),
        ("lead", 5.0, f"{handle.id}:bump"),
    ]
    state = await handle.query(JourneyWorkflow.query_state)
    record = state.history[0]
    assert (record.outcome, record.reason) == ("applied", "score lead +5: now 5")
    assert record.detail == {"group": "lead", "delta": 5.0, "score": 5.0}
    assert steps.sent_steps == ["welcome"]
