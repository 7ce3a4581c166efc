"""The webhook step on the time-skipping server: fire-and-forget queues a delivery and goes on; a waited call
branches on the status class (2xx, 5xx, timeout...), records status, latency and branch, and falls back to next
for a class without a branch."""

from __future__ import annotations

from typing import Any

from temporalio.exceptions import ApplicationError

from activities.webhooks.contracts import CallJourneyWebhookOutput, JourneyWebhookInput
from domain.journeys.runtime import JourneyState, StepRecord
from tests.workflows.steps.conftest import StepHarness
from workflows.journey import JourneyWorkflow


def send(step_id: str) -> dict[str, Any]:
    return {"id": step_id, "type": "send_email", "subject": step_id, "text": "hi"}


def hook(**extra: Any) -> dict[str, Any]:
    return {"id": "crm", "type": "webhook", "endpoint_id": "whep_1", "next": "after", **extra}


WAITED = hook(wait_for_response=True, timeout="PT10S", branches={"2xx": "ok", "5xx": "retry_later", "timeout": "slow"})


def journey(step: dict[str, Any]) -> dict[str, Any]:
    targets = ["after", *(t for t in ("ok", "retry_later", "slow") if t in step.get("branches", {}).values())]
    return {"trigger": {"event": "signed_up"}, "start": "crm", "steps": [step, *(send(t) for t in targets)]}


def answering(status_class: str, code: int | None = None, error: str | None = None) -> Any:
    def answer(_request: JourneyWebhookInput) -> CallJourneyWebhookOutput:
        return CallJourneyWebhookOutput(
            status_class=status_class, status_code=code, latency_ms=42.0, endpoint_id="whep_1", error=error
        )

    return answer


def record(state: JourneyState) -> StepRecord:
    [found] = [r for r in state.history if r.step_id == "crm"]
    return found


async def test_fire_and_forget_queues_a_delivery_and_goes_next(steps: StepHarness) -> None:
    handle = await steps.start(journey(hook()))

    result = await handle.result()

    assert result.last_step == "after"
    assert steps.calls == []
    [queued] = steps.queued
    assert queued.step_id == "crm"
    assert queued.idempotency_key.endswith(":crm")
    crm = record(await handle.query(JourneyWorkflow.query_state))
    assert (crm.outcome, crm.detail["delivery_id"]) == ("queued", "msg_1")


async def test_a_2xx_answer_takes_the_2xx_branch_with_status_and_latency_recorded(steps: StepHarness) -> None:
    handle = await steps.start(journey(WAITED))

    result = await handle.result()

    assert result.last_step == "ok"
    [call] = steps.calls
    crm = record(await handle.query(JourneyWorkflow.query_state))
    assert crm.outcome == "2xx"
    assert (crm.detail["status_code"], crm.detail["latency_ms"], crm.detail["branch"]) == (200, 42.0, "2xx")
    assert crm.detail["webhook_id"] == call.idempotency_key
    assert crm.reason == "HTTP 200 after 42 ms: the 2xx branch"


async def test_a_5xx_answer_takes_the_5xx_branch(steps: StepHarness) -> None:
    steps.answer = answering("5xx", 503)
    handle = await steps.start(journey(WAITED))

    assert (await handle.result()).last_step == "retry_later"
    assert len(steps.calls) == 1  # an HTTP answer is a result, not a failure to retry


async def test_a_timeout_takes_the_timeout_branch(steps: StepHarness) -> None:
    steps.answer = answering("timeout", error="no answer within 10 s")
    handle = await steps.start(journey(WAITED))

    assert (await handle.result()).last_step == "slow"
    crm = record(await handle.query(JourneyWorkflow.query_state))
    assert (crm.outcome, crm.detail["status_code"]) == ("timeout", None)


async def test_a_class_without_a_branch_goes_next(steps: StepHarness) -> None:
    steps.answer = answering("4xx", 404)
    handle = await steps.start(journey(WAITED))

    assert (await handle.result()).last_step == "after"
    assert record(await handle.query(JourneyWorkflow.query_state)).reason == "HTTP 404 after 42 ms: next"


async def test_a_call_that_cannot_be_made_takes_the_error_branch(steps: StepHarness) -> None:
    def broken(_request: JourneyWebhookInput) -> CallJourneyWebhookOutput:
        raise ApplicationError("endpoint row unreadable", non_retryable=True)

    steps.answer = broken
    handle = await steps.start(journey({**WAITED, "branches": {"error": "slow"}}))

    assert (await handle.result()).last_step == "slow"
    crm = record(await handle.query(JourneyWorkflow.query_state))
    assert crm.outcome == "error"
    assert "endpoint row unreadable" in crm.detail["error"]
