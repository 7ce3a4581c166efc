"""Goals, exit criteria, re-entry, intent and API triggers in the definition: validation and matching."""

from __future__ import annotations

from typing import Any

import pytest

from domain.events.interest import OutboxKind
from domain.journeys.definition import JourneyDefinitionError, validate_definition
from domain.journeys.policies import matching_exit, matching_goal

BASE: dict[str, Any] = {
    "trigger": {"event": "Signed Up"},
    "start": "end",
    "steps": [{"id": "end", "type": "end"}],
}


def refused(**changes: Any) -> JourneyDefinitionError:
    with pytest.raises(JourneyDefinitionError) as caught:
        validate_definition({**BASE, **changes})
    return caught.value


def test_goals_match_their_source_only() -> None:
    definition = validate_definition(
        {
            **BASE,
            "goals": [
                {"id": "bought", "event": "Order Completed", "where": [{"property": "total", "op": "gt", "value": 0}]},
                {"id": "vip", "segment_entered": "sg_vip"},
                {"id": "pro", "attribute": {"property": "plan", "op": "eq", "value": "pro"}},
            ],
        }
    )
    goals = definition.goals
    assert matching_goal(goals, OutboxKind.EVENT, "Order Completed", {"total": 5}) == goals[0]
    assert matching_goal(goals, OutboxKind.EVENT, "Order Completed", {"total": 0}) is None
    assert matching_goal(goals, OutboxKind.SEGMENT_ENTERED, "sg_vip", {}) == goals[1]
    assert matching_goal(goals, OutboxKind.SEGMENT_EXITED, "sg_vip", {}) is None
    assert matching_goal(goals, OutboxKind.CONTACT, "updated", {"plan": "pro"}) == goals[2]
    assert matching_goal(goals, OutboxKind.EVENT, "sg_vip", {"plan": "pro"}) is None
    assert definition.signalled_event_names() == {"Order Completed"}
    assert definition.criteria_segments() == {("segment_entered", "sg_vip")}
    assert definition.watches_contact


def test_a_sequence_also_exits_on_a_reply_or_a_booked_meeting() -> None:
    sequence = validate_definition({**BASE, "kind": "sequence", "exit_criteria": [{"event": "Email Replied"}]})
    assert [c.event for c in sequence.exits] == ["Email Replied", "Meeting Booked"]
    assert matching_exit(sequence.exits, OutboxKind.EVENT, "Meeting Booked", {}) is not None
    assert validate_definition(BASE).exits == []


@pytest.mark.parametrize(
    ("changes", "node", "code"),
    [
        ({"goals": [{"id": "g", "event": "A", "segment_entered": "sg_1"}]}, "goals[0]", "invalid_goal"),
        ({"goals": [{"id": "g"}]}, "goals[0]", "invalid_goal"),
        ({"goals": [{"id": "g", "event": "A"}, {"id": "g", "event": "B"}]}, "goals[1]", "duplicate_goal_id"),
        ({"exit_criteria": [{"segment_exited": "sg 1"}]}, "exit_criteria[0]", "invalid_exit_criterion"),
        ({"exit_criteria": [{"attribute": {"property": "x", "op": "eq", "value": 1},
                            "where": [{"property": "y", "op": "eq", "value": 2}]}]}, "exit_criteria[0]",
         "invalid_exit_criterion"),
        ({"reentry": {"mode": "cooldown"}}, "reentry", "invalid_definition"),
        ({"reentry": {"mode": "after_exit", "cooldown": "P1D"}}, "reentry", "invalid_definition"),
        ({"reentry": {"mode": "after_exit", "max_entries": 0}}, "reentry", "invalid_definition"),
        ({"trigger": {"intent": {"event": "Viewed", "count": 0, "within": "P7D"}}}, "trigger", "invalid_trigger"),
        ({"trigger": {"intent": {"event": "Viewed", "count": 3}}}, "trigger", "invalid_trigger"),
        ({"trigger": {"api": False}}, "trigger", "invalid_trigger"),
        ({"trigger": {"api": True, "event": "Signed Up"}}, "trigger", "invalid_trigger"),
        ({"kind": "campaign"}, "kind", "invalid_definition"),
    ],
)  # fmt: skip
def test_bad_policies_are_refused_naming_the_node(changes: dict[str, Any], node: str, code: str) -> None:
    error = refused(**changes)
    assert (error.node, error.code) == (node, code), error.message


def test_reentry_policies() -> None:
    assert validate_definition(BASE).reentry is None
    never = validate_definition({**BASE, "reentry": {"mode": "never"}}).reentry
    assert never is not None
    assert not never.allows_reentry
    capped = validate_definition({**BASE, "reentry": {"mode": "after_exit", "max_entries": 1}}).reentry
    assert capped is not None
    assert not capped.allows_reentry
    cool = validate_definition({**BASE, "reentry": {"mode": "cooldown", "cooldown": "P30D", "max_entries": 3}})
    assert cool.reentry is not None
    assert cool.reentry.allows_reentry
    assert cool.reentry.cooldown is not None


def test_intent_and_api_triggers() -> None:
    intent = {"event": "Page Viewed", "where": [{"property": "path", "op": "eq", "value": "/pricing"}],
              "count": 3, "within": "P7D"}  # fmt: skip
    trigger = validate_definition({**BASE, "trigger": {"intent": intent}}).trigger
    assert trigger.intent is not None
    assert trigger.intent.counts("Page Viewed", {"path": "/pricing"})
    assert not trigger.intent.counts("Page Viewed", {"path": "/docs"})
    assert not trigger.accepts(OutboxKind.EVENT, "Page Viewed", {"path": "/pricing"})  # needs the count
    assert trigger.label == "intent:Page Viewed"
    assert trigger.event_names == {"Page Viewed"}
    api = validate_definition({**BASE, "trigger": {"api": True}}).trigger
    assert api.label == "api"
    assert api.event_names == set()
    assert not api.accepts(OutboxKind.EVENT, "Signed Up", {})


def test_the_stored_form_leaves_default_policies_out() -> None:
    plain = validate_definition(BASE)
    assert set(plain.canonical()) == {"trigger", "start", "steps"}
    sequence = validate_definition({**BASE, "kind": "sequence", "goals": [{"id": "g", "event": "A"}]})
    assert sequence.canonical()["kind"] == "sequence"
    assert sequence.canonical()["goals"][0]["id"] == "g"
    assert validate_definition(sequence.canonical()) == sequence
