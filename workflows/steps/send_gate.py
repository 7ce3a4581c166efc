"""The send policy as a send step meets it (workflow code): ask the gate activity, then send, skip, or hold.

A non-transactional send asks the gate right before it goes. `allowed`: it goes (a frequency cap's reservation is
made). `capped` with the journey's on_capped `skip`: the step ends with outcome `capped` and the journey moves on.
`capped` with `defer`, or `quiet` (inside quiet hours): the step waits until the instant the gate names (the cap's
window frees, quiet hours end) through journey.wait, so a goal or an exit still ends the run at once, then asks
again. Every hold is recorded: the step record shows `deferred` with the rule while it waits, and the finished
record's detail lists the decisions (`policy`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.journeys.contracts import CHECK_SEND_GATE, SendGateInput, SendGateOutput
    from domain.journeys.steps import SendEmailStep, SendPushStep, SendSmsStep
    from workflows.journey_patches import SEND_POLICY_GATE
    from workflows.steps.context import JourneyRun, StepOutcome

SendStep = SendEmailStep | SendSmsStep | SendPushStep
GATE_TIMEOUT = timedelta(seconds=10)
# A database hiccup must not fail the journey nor let the send through unchecked: retry, for up to a day.
GATE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
GATE_GIVE_UP_AFTER = timedelta(days=1)
MAX_DECISIONS = 20  # kept in the step record (a contact held night after night by a full cap)


async def pass_send_gate(
    journey: JourneyRun, step: SendStep, channel: str, idempotency_key: str
) -> tuple[StepOutcome | None, list[dict[str, Any]]]:
    """(None, decisions) when the send may go now; (the step's outcome, decisions) when it is skipped."""
    decisions: list[dict[str, Any]] = []
    # A start made by this code says so (input.send_gate: no marker); otherwise asked only at a send the policy
    # could hold (a transactional one never is), so histories recorded before the gate replay without it.
    if step.transactional or not (journey.input.send_gate or workflow.patched(SEND_POLICY_GATE)):
        return None, decisions
    while True:
        verdict: SendGateOutput = await workflow.execute_local_activity(
            CHECK_SEND_GATE,
            SendGateInput(
                workspace_id=journey.input.workspace_id,
                journey_id=journey.input.journey_id,
                contact_id=journey.input.contact_id,
                channel=channel,
                idempotency_key=idempotency_key,
                now=workflow.now(),
                journey_policy=journey.definition.send_policy,
                topic=step.topic,
            ),
            result_type=SendGateOutput,
            start_to_close_timeout=GATE_TIMEOUT,
            schedule_to_close_timeout=GATE_GIVE_UP_AFTER,
            retry_policy=GATE_RETRY,
        )
        if verdict.decision == "allowed":
            return None, decisions
        until = verdict.until or workflow.now()
        held = "deferred" if verdict.decision == "capped" else "quiet"
        decision = {"decision": held, **verdict.detail, "until": until.isoformat()}
        if verdict.decision == "capped" and verdict.on_capped == "skip":
            decisions.append({**decision, "decision": "capped"})
            detail = {**verdict.detail, "policy": decisions[-MAX_DECISIONS:]}
            return StepOutcome("capped", step.next, reason=f"not sent: {verdict.reason}", detail=detail), decisions
        decisions.append(decision)
        record = journey.record
        record.outcome = "deferred"
        record.reason = f"deferred: {verdict.reason}"
        record.detail = {**verdict.detail, "until": until.isoformat()}
        journey.state.waiting_for = f"the send policy ({verdict.detail.get('rule', verdict.decision)})"
        try:
            await journey.wait(step.id, None, lambda: False, until=until)
        finally:
            journey.state.waiting_for = None
        record.outcome = record.reason = None
        record.detail = {}
        await journey.hold_while_paused()
