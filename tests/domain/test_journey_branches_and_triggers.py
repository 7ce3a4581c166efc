"""Journey definitions: a send's failure branch, and the triggers other than events (segment entries)."""

from __future__ import annotations

import pytest

from domain.events.interest import OutboxKind
from domain.journeys.definition import SendEmailStep, validate_definition
from domain.journeys.triggers import Trigger
from tests.domain.test_journey_definition import rejected, welcome_journey

# --- a send's failure branch ------------------------------------------------------------------------------


def test_a_send_names_its_failure_branch_and_the_branch_counts_as_reachable() -> None:
    raw = welcome_journey()
    raw["steps"][0]["on_failure"] = "sorry"
    sorry = {"id": "sorry", "type": "send_email", "subject": "Sorry", "text": "We could not", "next": "done"}
    raw["steps"].append(sorry)

    definition = validate_definition(raw)

    welcome = definition.step("welcome")
    assert isinstance(welcome, SendEmailStep)
    assert (welcome.next, welcome.on_failure) == ("pause", "sorry")


def test_a_failure_branch_to_a_missing_step_is_an_unknown_reference() -> None:
    raw = welcome_journey()
    raw["steps"][0]["on_failure"] = "ghost"

    error = rejected(raw)

    assert (error.node, error.code) == ("welcome", "unknown_step_reference")
    assert "'on_failure'" in error.message


def test_a_failure_branch_back_to_its_own_path_is_a_cycle() -> None:
    raw = welcome_journey()
    raw["steps"][3]["on_failure"] = "welcome"  # thanks fails -> welcome -> ... -> thanks

    assert rejected(raw).code == "cycle"


def test_a_segment_entered_trigger_accepts_only_that_segments_entries() -> None:

    trigger = Trigger.model_validate({"segment_entered": "sg_1"})
    assert trigger.accepts(OutboxKind.SEGMENT_ENTERED, "sg_1", {"segment_id": "sg_1"})
    assert not trigger.accepts(OutboxKind.SEGMENT_ENTERED, "sg_2", {})
    assert not trigger.accepts(OutboxKind.EVENT, "sg_1", {})
    assert not trigger.accepts(OutboxKind.SEGMENT_EXITED, "sg_1", {})
    assert trigger.label == "segment_entered:sg_1"
    for bad in ({}, {"event": "x", "segment_entered": "sg_1"}, {"segment_entered": "sg_1", "where": [
            {"property": "a", "op": "exists"}]}):  # fmt: skip
        with pytest.raises(ValueError, match="trigger"):
            Trigger.model_validate(bad)
