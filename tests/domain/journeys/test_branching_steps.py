"""Validation of the split, ab_split, holdout, update_contact, adjust_score, goal and exit steps: what parses, and
what is refused with the node named."""

from __future__ import annotations

from typing import Any

import pytest

from domain.journeys.definition import JourneyDefinitionError, validate_definition
from domain.journeys.steps import AbSplitStep, GoalStep, SplitStep, UpdateContactStep


def journey(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"trigger": {"event": "x"}, "start": steps[0]["id"], "steps": list(steps)}


def send(step_id: str) -> dict[str, Any]:
    return {"id": step_id, "type": "send_email", "subject": "s", "text": "t"}


def rejected(*steps: dict[str, Any]) -> JourneyDefinitionError:
    with pytest.raises(JourneyDefinitionError) as caught:
        validate_definition(journey(*steps))
    return caught.value


EVERY_KIND = {
    "any": [
        {"attribute": {"property": "plan", "op": "eq", "value": "pro"}},
        {"segment": "sg_1", "member": False},
        {"score": {"group": "lead", "op": "gte", "value": 10}},
        {"event": {"name": "Viewed", "where": [{"property": "path", "op": "eq", "value": "/p"}], "within": "P7D"}},
        {"all": [{"engagement": {"step": "welcome", "action": "clicked"}}]},
    ]
}


def test_every_step_type_parses_and_survives_its_stored_form() -> None:
    raw = journey(
        {**send("welcome"), "next": "split"},
        {"id": "split", "type": "split", "branches": [{"condition": EVERY_KIND, "next": "ab"}], "default": "out"},
        {"id": "ab", "type": "ab_split", "arms": [{"id": "A", "weight": 1, "next": "hold"}, {"id": "B", "weight": 2}]},
        {"id": "hold", "type": "holdout", "percent": 12.5, "next": "mark"},
        {
            "id": "mark",
            "type": "update_contact",
            "set": {"plan": "{{ contact.plan }}-x"},
            "unset": ["t"],
            "next": "bump",
        },
        {"id": "bump", "type": "adjust_score", "group": "lead", "delta": -2.5, "next": "won"},
        {"id": "won", "type": "goal", "name": "bought"},
        {"id": "out", "type": "exit", "reason": "no fit"},
    )

    definition = validate_definition(raw)
    again = validate_definition(definition.model_dump(mode="json", exclude_none=True))

    assert again == definition
    split = definition.step("split")
    assert isinstance(split, SplitStep)
    assert split.successors() == {"branches[0]": "ab", "default": "out"}
    assert split.sends_read() == {"branches[0].condition.engagement": "welcome"}
    assert {(r.kind, r.value) for r in split.references()} == {("segment", "sg_1"), ("score_group", "lead")}
    ab = definition.step("ab")
    assert isinstance(ab, AbSplitStep)
    assert ab.successors() == {"arms[0]": "hold"}
    mark = definition.step("mark")
    assert isinstance(mark, UpdateContactStep)
    assert mark.templates() == {"set.plan": "{{ contact.plan }}-x"}
    assert definition.step("bump").references()[0].kind == "score_group"
    goal = definition.step("won")
    assert isinstance(goal, GoalStep)
    assert goal.successors() == {}


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ({"type": "split", "branches": []}, "branches"),
        ({"type": "split", "branches": [{"condition": {}}]}, "a condition has exactly one of"),
        ({"type": "split", "branches": [{"condition": {"segment": "a", "score": {}}}]}, "exactly one of"),
        ({"type": "split", "branches": [{"condition": {"score": {"group": "lead", "op": "gte"}}}]}, "value"),
        ({"type": "split", "branches": [{"condition": {"event": {"name": "x", "min_count": 0}}}]}, "min_count"),
        ({"type": "split", "branches": [{"condition": {"event": {"name": "x", "within": "7d"}}}]}, "within"),
        (
            {
                "type": "split",
                "branches": [{"condition": {"all": [{"all": [{"all": [{"all": [{"all": [{"segment": "s"}]}]}]}]}]}}],
            },
            "nest at most 5",
        ),
        ({"type": "ab_split", "arms": [{"id": "A", "weight": 1}]}, "arms"),
        ({"type": "ab_split", "arms": [{"id": "A", "weight": 0}, {"id": "B", "weight": 1}]}, "weight"),
        ({"type": "ab_split", "arms": [{"id": "A", "weight": 1.5}, {"id": "B", "weight": 1}]}, "weight"),
        ({"type": "ab_split", "arms": [{"id": "A", "weight": 1}, {"id": "A", "weight": 1}]}, "A is used twice"),
        ({"type": "holdout", "percent": 0}, "percent"),
        ({"type": "holdout", "percent": 100}, "percent"),
        ({"type": "update_contact"}, "at least one attribute"),
        ({"type": "update_contact", "set": {"a": 1}, "unset": ["a"]}, "both set and unset"),
        ({"type": "update_contact", "unset": ["email"]}, "cannot be unset"),
        ({"type": "update_contact", "set": {"a.b": 1}}, "set"),
        ({"type": "adjust_score", "group": "total", "delta": 1}, "'total'"),
        ({"type": "adjust_score", "group": "lead", "delta": 0}, "delta must not be 0"),
        ({"type": "goal", "name": "g", "next": "x"}, "takes no next"),
        ({"type": "exit"}, "reason"),
    ],
)
def test_invalid_steps_are_refused_naming_the_node(step: dict[str, Any], expected: str) -> None:
    error = rejected({"id": "node", **step})

    assert (error.node, error.code) == ("node", "invalid_step")
    assert expected in error.message


def test_a_template_value_with_bad_syntax_names_the_node_and_field() -> None:
    error = rejected({"id": "mark", "type": "update_contact", "set": {"hi": "{{ contact.x "}})

    assert (error.node, error.code) == ("mark", "invalid_template")
    assert "set.hi" in error.message


@pytest.mark.parametrize(
    ("target", "what"),
    [("ghost", "not a step"), ("later", "of type exit, not a send")],
)
def test_engagement_must_read_a_send_step_of_the_journey(target: str, what: str) -> None:
    condition = {"engagement": {"step": target, "action": "opened"}}
    error = rejected(
        {"id": "split", "type": "split", "branches": [{"condition": condition, "next": "later"}]},
        {"id": "later", "type": "exit", "reason": "r"},
    )

    assert (error.node, error.code) == ("split", "unknown_send_step")
    assert what in error.message


def test_branch_targets_are_graph_edges() -> None:
    error = rejected(
        {"id": "split", "type": "split", "branches": [{"condition": {"segment": "s"}, "next": "ghost"}]},
    )

    assert (error.node, error.code) == ("split", "unknown_step_reference")
    assert "branches[0]" in error.message
