"""The event id announcing a (journey, contact) execution: readable, deterministic, and within the outbox's 80
characters whatever the ids' lengths."""

from __future__ import annotations

from domain.ids import new_id
from domain.journeys.runtime import journey_event_id, journey_workflow_id


def test_generated_ids_stay_readable_and_fit() -> None:
    journey, contact = new_id("jr"), new_id("ct")
    assert journey_event_id(journey, contact) == f"{journey}:{contact}"
    assert len(journey_workflow_id(new_id("ws"), journey, contact)) > 80  # why the workflow id is not used


def test_the_longest_ids_are_hashed_to_fit_deterministically() -> None:
    journey, contact = "j" * 40, "c" * 40
    event_id = journey_event_id(journey, contact)
    assert len(event_id) <= 80
    assert event_id == journey_event_id(journey, contact) != journey_event_id(journey, "c" * 39 + "d")
