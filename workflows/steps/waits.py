"""The wait, wait_for_event and end steps (workflow code).

A `wait` in a calendar form (until a local time, until a date attribute, business days) asks one local activity
for its deadline as it starts (the contact's zone and attributes and the workspace's holidays live in the
database), then waits for that instant through journey.wait, so goals and exits still end it at once. A plain
duration issues no such command: its histories are what they always were. Likewise a wait_for_event with a
`lookback` asks one local activity for an earlier matching event; without one, nothing changes.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.journeys.contracts import (
        COMPUTE_WAIT_DEADLINE,
        FIND_EARLIER_EVENT,
        ComputeWaitDeadlineInput,
        ComputeWaitDeadlineOutput,
        FindEarlierEventInput,
        FindEarlierEventOutput,
    )
    from domain.journeys.steps import EndStep, WaitForEventStep, WaitStep
    from workflows.steps.context import JourneyRun, StepOutcome

READ_TIMEOUT = timedelta(seconds=10)
# A database outage delays the step rather than failing the journey: capped backoff for up to a day.
READ_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=1)
)
READ_GIVE_UP_AFTER = timedelta(days=1)


async def run_wait(journey: JourneyRun, step: WaitStep) -> StepOutcome:
    if step.duration is not None:
        await journey.wait(step.id, step.duration, lambda: False)
        return StepOutcome("waited", step.next)
    deadline: ComputeWaitDeadlineOutput = await workflow.execute_local_activity(
        COMPUTE_WAIT_DEADLINE,
        ComputeWaitDeadlineInput(
            workspace_id=journey.input.workspace_id,
            contact_id=journey.input.contact_id,
            step=step,
            started_at=journey.record.entered_at,
        ),
        result_type=ComputeWaitDeadlineOutput,
        start_to_close_timeout=READ_TIMEOUT,
        retry_policy=READ_RETRY,
        schedule_to_close_timeout=READ_GIVE_UP_AFTER,
    )
    detail = {"form": step.form, "timezone": deadline.timezone}
    if deadline.until is None:
        # A deadline already past: no timer, no command; but a wait resumed after continue-as-new keeps its own
        # deadline (the attribute may have changed since), and a stop that arrived meanwhile still stops here.
        await journey.wait(step.id, None, lambda: False, until=journey.record.entered_at)
        return StepOutcome("skipped", step.next, reason=deadline.reason, detail=detail)
    journey.state.waiting_for = deadline.reason
    try:
        await journey.wait(step.id, None, lambda: False, until=deadline.until)
    finally:
        journey.state.waiting_for = None
    return StepOutcome(
        "waited", step.next, reason=deadline.reason, detail={**detail, "until": deadline.until.isoformat()}
    )


async def run_wait_for_event(journey: JourneyRun, step: WaitForEventStep) -> StepOutcome:
    """The first buffered event the step accepts is consumed (one that arrived before the step counts too); with a
    lookback, else the latest matching event the contact did within that window before the step started."""
    if step.lookback is not None and _first_match(journey, step) is None:
        earlier = await _earlier_event(journey, step, step.lookback)
        if earlier.event_id is not None:
            _drop_pending(journey, earlier.event_id)
            detail = {"event_id": earlier.event_id, "lookback": True}
            if earlier.timestamp is not None:
                detail["occurred_at"] = earlier.timestamp.isoformat()
            reason = f"{step.event!r}: matched an earlier event within lookback {step.lookback}"
            return StepOutcome("event", step.on_event, reason=reason, detail=detail)
    journey.state.waiting_for_event = step.event
    journey.state.waiting_for = f"event {step.event!r}"
    try:
        matched = await journey.wait(step.id, step.timeout, lambda: _first_match(journey, step) is not None)
    finally:
        journey.state.waiting_for_event = None
        journey.state.waiting_for = None
    index = _first_match(journey, step) if matched else None
    if index is None:
        return StepOutcome("timeout", step.on_timeout, reason=f"no {step.event!r} event within {step.timeout}")
    event = journey.pending_events().pop(index)
    return StepOutcome("event", step.on_event, reason=f"{step.event!r} arrived", detail={"event_id": event.event_id})


async def _earlier_event(journey: JourneyRun, step: WaitForEventStep, lookback: timedelta) -> FindEarlierEventOutput:
    started = journey.record.entered_at
    request = FindEarlierEventInput(
        workspace_id=journey.input.workspace_id,
        contact_id=journey.input.contact_id,
        step=step,
        since=started - lookback,
        until=started,
        exclude_ids=_consumed_event_ids(journey),
    )
    found: FindEarlierEventOutput = await workflow.execute_local_activity(
        FIND_EARLIER_EVENT,
        request,
        result_type=FindEarlierEventOutput,
        start_to_close_timeout=READ_TIMEOUT,
        retry_policy=READ_RETRY,
        schedule_to_close_timeout=READ_GIVE_UP_AFTER,
    )
    return found


def _consumed_event_ids(journey: JourneyRun) -> list[str]:
    """The trigger and the events earlier steps of this run consumed: they do not count twice."""
    ids = {journey.input.trigger_event_id}
    if journey.input.trigger is not None:
        ids.add(journey.input.trigger.event_id)
    for record in journey.state.history:
        event_id = record.detail.get("event_id")
        if isinstance(event_id, str):
            ids.add(event_id)
    return sorted(ids)


def _drop_pending(journey: JourneyRun, event_id: str) -> None:
    """The matched event may also be buffered (signalled as the step started): it is consumed either way."""
    pending = journey.pending_events()
    pending[:] = [event for event in pending if event.event_id != event_id]


def _first_match(journey: JourneyRun, step: WaitForEventStep) -> int | None:
    for index, event in enumerate(journey.pending_events()):
        if event.kind == "event" and step.accepts(event.name, event.properties):
            return index
    return None


async def run_end(journey: JourneyRun, step: EndStep) -> StepOutcome:
    return StepOutcome("end", None)
