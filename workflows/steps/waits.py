"""The wait, wait_for_event and end steps (workflow code)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.journeys.steps import EndStep, WaitForEventStep, WaitStep
    from workflows.steps.context import JourneyRun, StepOutcome


async def run_wait(journey: JourneyRun, step: WaitStep) -> StepOutcome:
    await journey.wait(step.id, step.duration, lambda: False)
    return StepOutcome("waited", step.next)


async def run_wait_for_event(journey: JourneyRun, step: WaitForEventStep) -> StepOutcome:
    """The first buffered event the step accepts is consumed (one that arrived before the step counts too)."""
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


def _first_match(journey: JourneyRun, step: WaitForEventStep) -> int | None:
    for index, event in enumerate(journey.pending_events()):
        if event.kind == "event" and step.accepts(event.name, event.properties):
            return index
    return None


async def run_end(journey: JourneyRun, step: EndStep) -> StepOutcome:
    return StepOutcome("end", None)
