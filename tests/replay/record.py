"""Record journey histories for the replay test: `python -m tests.replay.record`.

Run it when the journey workflow changes in a way that is meant to stay compatible, after guarding the change
with `workflow.patched()`; commit the new files beside the old ones (old histories must keep replaying)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from activities.journeys.contracts import SendGateInput, SendGateOutput
from domain.journeys.definition import validate_definition
from domain.journeys.runtime import EVENT_SIGNAL
from tests.replay.recording import recording_env, write_histories
from tests.workflows.conftest import TRIGGER_EVENT_ID, JourneyHarness
from tests.workflows.test_journey_goals import definition as policies
from tests.workflows.test_journey_goals import signal
from tests.workflows.test_journey_send_failure_branch import WELCOME_OR_SORRY
from tests.workflows.test_journey_workflow import CLICK_OR_NUDGE, click, state_when, waiting_for_click

SMS_THEN_PUSH = {
    "trigger": {"event": "Cart Abandoned"},
    "start": "remind",
    "send_policy": {"caps": [{"channel": "sms", "limit": 1, "window": "P1D"}], "on_capped": "defer"},
    "steps": [
        {"id": "remind", "type": "send_sms", "body": "Your cart, {{ contact.first_name }}", "next": "ping"},
        {"id": "ping", "type": "send_push", "title": "Still there?", "data": {"cart": "{{ contact.id }}"}},
    ],
}


def _defer_first_gate() -> Callable[[SendGateInput], Awaitable[SendGateOutput]]:
    calls = 0

    async def gate(request: SendGateInput) -> SendGateOutput:
        nonlocal calls
        calls += 1
        if calls > 1:
            return SendGateOutput(decision="allowed")
        detail = {"rule": "caps[0]", "channel": "sms", "limit": 1, "count": 1, "window": "P1D"}
        until = request.now + timedelta(hours=6)
        return SendGateOutput(decision="capped", until=until, reason="frequency cap caps[0]", detail=detail)

    return gate


async def record(version: str, only: str | None = None) -> list[Path]:
    env = await recording_env()
    try:
        harness = JourneyHarness(env)
        async with harness.worker():
            clicked = await harness.start(CLICK_OR_NUDGE)
            await state_when(clicked, waiting_for_click)
            await clicked.signal(EVENT_SIGNAL, click("evt-1"))
            await clicked.result()
            timed_out = await harness.start(CLICK_OR_NUDGE)
            await timed_out.result()
            # As the dispatcher's plain start enters a contact: definition and trigger in the input, no load.
            definition = validate_definition(CLICK_OR_NUDGE)
            carried_input = harness.journey_input(definition=definition, trigger=click(TRIGGER_EVENT_ID))
            carried = await harness.start(definition, carried_input)
            await state_when(carried, waiting_for_click)
            await carried.signal(EVENT_SIGNAL, click("evt-1"))
            await carried.result()
            # A send that fails for good and goes down its on_failure branch (a loaded definition: patched asked).
            harness.reject_steps = {"welcome"}
            failed_send = await harness.start(WELCOME_OR_SORRY)
            await failed_send.result()
            # A journey of a workspace subscribed to journey.completed: it announces its end (patched asked).
            harness.reject_steps = set()
            announcing_input = harness.journey_input(announce_completion=True)
            announced = await harness.start(WELCOME_OR_SORRY, announcing_input)
            await announced.result()
            # A goal reached mid-wait (the timer cancelled) and an exit criterion met by a contact change.
            goals = [{"id": "bought", "event": "Order Completed"}]
            exits = [{"attribute": {"property": "plan", "op": "eq", "value": "churned"}}]
            converted = await harness.start(policies(goals=goals, exit_criteria=exits))
            await state_when(converted, lambda s: s.current_step == "rest")
            await converted.signal(EVENT_SIGNAL, signal("e1", "Order Completed"))
            await converted.result()
            exited = await harness.start(policies(goals=goals, exit_criteria=exits))
            await state_when(exited, lambda s: s.current_step == "rest")
            await exited.signal(EVENT_SIGNAL, signal("c1", "updated", kind="contact", plan="churned"))
            await exited.result()
            # SMS then push under a send policy: the gate defers the SMS once (a full cap), then allows both.
            harness.gate = _defer_first_gate()
            policy_sends = await harness.start(SMS_THEN_PUSH)
            await policy_sends.result()
            harness.gate = None
            shapes = (
                ("goal_during_wait", converted),
                ("exit_on_contact_change", exited),
                ("event_branch", clicked),
                ("timeout_branch", timed_out),
                ("carried_event_branch", carried),
                ("send_failure_branch", failed_send),
                ("announced_completion", announced),
                ("policy_deferred_channels", policy_sends),
            )
            written = await write_histories(version, shapes, only)
    finally:
        await env.shutdown()
    return written


if __name__ == "__main__":
    # python -m tests.replay.record v4 [send_failure_branch]: every shape, or only the one named
    arguments = sys.argv[1:]
    for written_path in asyncio.run(record(arguments[0] if arguments else "v1", *arguments[1:2])):
        print(written_path)  # noqa: T201
