"""The A/B split on the time-skipping server: the arm is the hash's, recorded, and the same on every run."""

from __future__ import annotations

from typing import Any

from domain.journeys.assignment import ab_arm
from tests.workflows.steps.conftest import StepHarness
from tests.workflows.steps.journeys import journey, send
from workflows.journey import JourneyWorkflow

AB = journey(
    "ab",
    {
        "id": "ab",
        "type": "ab_split",
        "arms": [{"id": "A", "weight": 1, "next": "a"}, {"id": "B", "weight": 3, "next": "b"}],
    },
    send("a"),
    send("b"),
)


async def run_arm(steps: StepHarness, contact_id: str | None = None) -> tuple[str, Any]:
    contact = steps.journey_input()
    if contact_id is not None:
        contact = contact.model_copy(update={"contact_id": contact_id})
    handle = await steps.start(AB, contact)
    await handle.result()
    state = await handle.query(JourneyWorkflow.query_state)
    return contact.contact_id, state.history[0]


async def test_the_arm_is_the_hash_of_journey_and_contact_and_is_recorded(steps: StepHarness) -> None:
    contact_id, record = await run_arm(steps)

    expected = ["A", "B"][ab_arm("onboarding", "ab", contact_id, [1, 3])]
    assert record.outcome == f"arm:{expected}"
    assert record.detail == {"arm": expected}
    assert record.reason == f"arm {expected} (weight {1 if expected == 'A' else 3} of 4)"
    assert steps.sent_steps == [expected.lower()]


async def test_the_same_contact_gets_the_same_arm_on_a_second_run(steps: StepHarness) -> None:
    _, first = await run_arm(steps, "contact-same")
    _, again = await run_arm(steps, "contact-same")  # the first run completed: the id may start again

    assert again.detail == first.detail
    assert len(steps.sent) == 2
    assert steps.sent_steps[0] == steps.sent_steps[1]
