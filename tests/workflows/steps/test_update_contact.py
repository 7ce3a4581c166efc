"""The update_contact step on the time-skipping server: one local activity under the step's idempotency key."""

from __future__ import annotations

from tests.workflows.steps.conftest import StepHarness
from tests.workflows.steps.journeys import journey, send
from workflows.journey import JourneyWorkflow

UPDATE = journey(
    "mark",
    {
        "id": "mark",
        "type": "update_contact",
        "set": {"plan": "pro", "hi": "Hi {{ contact.first_name }}"},
        "unset": ["trial"],
        "next": "welcome",
    },
    send("welcome"),
)


async def test_the_step_writes_through_the_activity_then_goes_on(steps: StepHarness) -> None:
    handle = await steps.start(UPDATE)

    result = await handle.result()

    assert result.status == "completed"
    [update] = steps.updates
    assert update.set == {"plan": "pro", "hi": "Hi {{ contact.first_name }}"}  # rendered by the activity
    assert update.unset == ["trial"]
    assert update.idempotency_key == f"{handle.id}:mark"
    assert steps.sent_steps == ["welcome"]
    state = await handle.query(JourneyWorkflow.query_state)
    record = state.history[0]
    assert (record.outcome, record.reason) == ("updated", "wrote hi, plan, trial")
    assert record.detail["changed"]["trial"] is None


async def test_a_failing_write_is_retried_under_the_same_key(steps: StepHarness) -> None:
    steps.fail_first = 2
    handle = await steps.start(UPDATE)

    await handle.result()

    assert len(steps.updates) == 3
    assert {u.idempotency_key for u in steps.updates} == {f"{handle.id}:mark"}
    assert len(steps.applied) == 1


async def test_a_deleted_contact_is_skipped_and_the_journey_goes_on(steps: StepHarness) -> None:
    contact = steps.journey_input()
    steps.missing_contacts.add(contact.contact_id)
    handle = await steps.start(UPDATE, contact)

    await handle.result()

    state = await handle.query(JourneyWorkflow.query_state)
    assert (state.history[0].outcome, state.history[0].reason) == ("skipped", "the contact no longer exists")
