"""The condition split on the time-skipping server: the branch the facts choose, its reason and facts recorded."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from domain.journeys.steps.split_conditions import SplitFacts
from tests.workflows.steps.conftest import StepHarness
from tests.workflows.steps.journeys import journey, send
from workflows.journey import JourneyWorkflow


def split(**extra: Any) -> dict[str, Any]:
    return {
        "id": "hot_or_not",
        "type": "split",
        "branches": [
            {"condition": {"score": {"group": "lead", "op": "gte", "value": 10}}, "next": "hot"},
            {"condition": {"engagement": {"step": "welcome", "action": "opened"}}, "next": "warm"},
        ],
        "default": "cold",
        **extra,
    }


SCORE_OR_ENGAGEMENT = journey(
    "welcome", send("welcome", "hot_or_not"), split(), send("hot"), send("warm"), send("cold")
)


async def test_the_first_branch_that_holds_is_taken_with_its_reason_and_facts(steps: StepHarness) -> None:
    contact = steps.journey_input()
    steps.facts[contact.contact_id] = SplitFacts(scores={"lead": 42.0}, engagement={"welcome": ["opened"]})
    handle = await steps.start(SCORE_OR_ENGAGEMENT, contact)

    result = await handle.result()

    assert result.status == "completed"
    assert steps.sent_steps == ["welcome", "hot"]  # both branches hold: the first written wins
    state = await handle.query(JourneyWorkflow.query_state)
    record = next(r for r in state.history if r.step_id == "hot_or_not")
    assert record.outcome == "branch:0"
    assert record.reason == "score lead=42 >= 10"
    assert record.detail["branch"] == 0
    assert record.detail["facts"]["scores"] == {"lead": 42.0}


async def test_engagement_reads_this_runs_send_of_the_named_step(steps: StepHarness) -> None:
    contact = steps.journey_input()
    steps.facts[contact.contact_id] = SplitFacts(scores={"lead": 3.0}, engagement={"welcome": ["clicked"]})
    handle = await steps.start(SCORE_OR_ENGAGEMENT, contact)

    await handle.result()

    assert steps.sent_steps == ["welcome", "warm"]  # a click implies the open
    [asked] = steps.splits
    assert asked.engagement_keys == {"welcome": steps.sent[0].request.idempotency_key}
    assert [b.next for b in asked.branches] == ["hot", "warm"]
    state = await handle.query(JourneyWorkflow.query_state)
    record = next(r for r in state.history if r.step_id == "hot_or_not")
    assert (record.outcome, record.reason) == ("branch:1", "the message of step 'welcome' was opened")


async def test_no_branch_holding_takes_the_default_and_says_what_failed(steps: StepHarness) -> None:
    handle = await steps.start(SCORE_OR_ENGAGEMENT)

    await handle.result()

    assert steps.sent_steps == ["welcome", "cold"]
    state = await handle.query(JourneyWorkflow.query_state)
    record = next(r for r in state.history if r.step_id == "hot_or_not")
    assert record.outcome == "default"
    assert record.reason is not None
    assert record.reason.startswith("no branch matched: branch 0: score lead=0 not >= 10; branch 1:")


async def test_a_split_without_default_ends_the_run_when_nothing_holds(steps: StepHarness) -> None:
    raw = journey("welcome", send("welcome", "hot_or_not"), split(default=None), send("hot"), send("warm"))

    result = await (await steps.start(raw)).result()

    assert (result.status, result.last_step) == ("completed", "hot_or_not")
    assert steps.sent_steps == ["welcome"]


async def test_a_split_that_cannot_be_evaluated_fails_the_journey_visibly(steps: StepHarness) -> None:
    steps.split_failure = ApplicationError("bad data", non_retryable=True)
    handle = await steps.start(SCORE_OR_ENGAGEMENT)

    with pytest.raises(WorkflowFailureError):
        await handle.result()

    [letter] = steps.dead_letters
    assert (letter.step_id, letter.error_type) == ("hot_or_not", "JourneyStepFailed")
    assert steps.sent_steps == ["welcome"]
