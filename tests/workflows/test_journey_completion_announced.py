"""journey.completed: a journey whose input says its workspace takes it announces its normal end once, as its last
command (a patch marker and one local activity); any other journey records neither."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType

from domain.journeys.definition import validate_definition
from tests.workflows.conftest import JourneyHarness
from tests.workflows.test_journey_send_failure_branch import WELCOME_OR_SORRY

MARKER = EventType.EVENT_TYPE_MARKER_RECORDED


async def _markers(handle) -> int:  # type: ignore[no-untyped-def]
    history = await handle.fetch_history()
    return sum(1 for event in history.events if event.event_type == MARKER)


async def test_a_subscribed_journey_announces_its_completion_once(journeys: JourneyHarness) -> None:
    definition = validate_definition(WELCOME_OR_SORRY)
    journey = journeys.journey_input(definition=definition, announce_completion=True)
    handle = await journeys.start(definition, journey)

    result = await handle.result()

    assert result.status == "completed"
    assert len(journeys.announced) == 1
    announced = journeys.announced[0]
    assert (announced.journey_id, announced.contact_id) == ("onboarding", journey.contact_id)
    assert announced.workflow_id == handle.id
    assert (announced.last_step, announced.steps_run) == ("done", 2)


async def test_a_journey_without_a_subscriber_pays_nothing(journeys: JourneyHarness) -> None:
    definition = validate_definition(WELCOME_OR_SORRY)
    plain = await journeys.start(definition, journeys.journey_input(definition=definition))
    await plain.result()
    announcing = await journeys.start(
        definition, journeys.journey_input(definition=definition, announce_completion=True)
    )
    await announcing.result()

    assert len(journeys.announced) == 1  # only the subscribed one
    # the plain journey's history is as before: its only markers are its local send; the other adds two
    assert await _markers(announcing) == await _markers(plain) + 2
