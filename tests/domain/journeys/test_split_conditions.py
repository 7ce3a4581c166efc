"""The split's conditions evaluated over facts: each kind, the combinators, the reasons in words, and properties
(hypothesis) that hold for any facts."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from domain.journeys.steps.split_conditions import (
    Condition,
    SplitFacts,
    attribute_facts,
    decide,
    explain,
    needs,
)

CONDITION: TypeAdapter[Any] = TypeAdapter(Condition)


def holds(raw: dict[str, Any], facts: SplitFacts) -> tuple[bool, str]:
    return explain(CONDITION.validate_python(raw), facts)


def test_score_compares_the_groups_score_and_a_missing_score_is_zero() -> None:
    facts = SplitFacts(scores={"lead": 42.0})

    assert holds({"score": {"group": "lead", "op": "gte", "value": 10}}, facts) == (True, "score lead=42 >= 10")
    assert holds({"score": {"group": "fit", "op": "lt", "value": 1}}, facts) == (True, "score fit=0 < 1")
    assert holds({"score": {"group": "lead", "op": "eq", "value": 41}}, facts) == (False, "score lead=42 not = 41")


def test_attributes_use_the_journeys_filter_semantics() -> None:
    facts = SplitFacts(attributes={"plan": "pro", "seats": 3})

    assert holds({"attribute": {"property": "plan", "op": "eq", "value": "pro"}}, facts)[0]
    assert holds({"attribute": {"property": "seats", "op": "gt", "value": 2}}, facts)[0]
    assert not holds({"attribute": {"property": "seats", "op": "gt", "value": "2"}}, facts)[0]  # types differ
    assert holds({"attribute": {"property": "trial", "op": "exists", "value": False}}, facts) == (
        True,
        "attribute trial (missing) exists false",
    )
    assert not holds({"attribute": {"property": "trial", "op": "neq", "value": 1}}, facts)[0]  # missing: no match


def test_segment_membership_either_way() -> None:
    facts = SplitFacts(segments={"sg_vip": True})

    assert holds({"segment": "sg_vip"}, facts) == (True, "in segment sg_vip")
    assert holds({"segment": "sg_vip", "member": False}, facts) == (False, "in segment sg_vip")
    assert holds({"segment": "sg_other", "member": False}, facts) == (True, "not in segment sg_other")


def test_event_counts_against_min_count() -> None:
    raw = {"event": {"name": "Viewed", "within": "PT12H", "min_count": 2}}
    key = next(iter(needs([CONDITION.validate_python(raw)]).events))

    assert holds(raw, SplitFacts(events={key: 2})) == (True, "2 'Viewed' events within 12h: at least 2")
    assert holds(raw, SplitFacts(events={key: 1})) == (False, "1 'Viewed' event within 12h: fewer than 2")
    assert not holds(raw, SplitFacts())[0]


def test_engagement_a_click_implies_the_open_and_the_delivery() -> None:
    facts = SplitFacts(engagement={"welcome": ["clicked"]})

    for action in ("delivered", "opened", "clicked"):
        assert holds({"engagement": {"step": "welcome", "action": action}}, facts)[0]
    opened_only = SplitFacts(engagement={"welcome": ["opened"]})
    assert holds({"engagement": {"step": "welcome", "action": "clicked"}}, opened_only) == (
        False,
        "the message of step 'welcome' was not clicked",
    )


def test_all_and_any_explain_what_decided() -> None:
    facts = SplitFacts(scores={"lead": 5.0}, segments={"sg": True})
    both = {"all": [{"segment": "sg"}, {"score": {"group": "lead", "op": "gte", "value": 10}}]}
    either = {"any": [{"score": {"group": "lead", "op": "gte", "value": 10}}, {"segment": "sg"}]}

    assert holds(both, facts) == (False, "score lead=5 not >= 10")
    assert holds(either, facts) == (True, "in segment sg")
    assert holds({"any": [{"segment": "x"}]}, facts) == (False, "none of: not in segment x")


def test_decide_takes_the_first_holding_branch_else_the_default_with_every_reason() -> None:
    conditions = [CONDITION.validate_python(c) for c in ({"segment": "a"}, {"segment": "b"}, {"segment": "c"})]

    assert decide(conditions, SplitFacts(segments={"b": True, "c": True})).branch == 1
    default = decide(conditions, SplitFacts())
    assert default.branch is None
    assert default.reason == (
        "no branch matched: branch 0: not in segment a; branch 1: not in segment b; branch 2: not in segment c"
    )
    assert decide(conditions, SplitFacts(contact_found=False, segments={"a": True})).branch is None


def test_needs_lists_only_what_the_conditions_read() -> None:
    raw = {
        "all": [
            {"attribute": {"property": "plan.tier", "op": "exists"}},
            {
                "any": [
                    {"segment": "s"},
                    {"score": {"group": "g", "op": "gt", "value": 0}},
                    {"engagement": {"step": "w", "action": "opened"}},
                ]
            },
        ]
    }
    found = needs([CONDITION.validate_python(raw)])

    assert (found.attributes, found.segments, found.scores, found.engagement) == ({"plan.tier"}, {"s"}, {"g"}, {"w"})
    assert found.events == {}


def test_attribute_facts_resolve_dotted_paths_and_leave_missing_ones_out() -> None:
    values = {"plan": {"tier": "pro"}, "nothing": None}

    assert attribute_facts(values, {"plan.tier", "plan.seats", "nothing", "ghost"}) == {
        "plan.tier": "pro",
        "nothing": None,
    }


SCORES = st.dictionaries(st.sampled_from(["lead", "fit"]), st.floats(-1e6, 1e6, allow_nan=False), max_size=2)
OPS = st.sampled_from(["eq", "neq", "gt", "gte", "lt", "lte"])


@given(SCORES, OPS, st.floats(-1e6, 1e6, allow_nan=False))
def test_a_score_condition_and_its_opposite_never_both_hold(scores: dict[str, float], op: str, value: float) -> None:
    opposite = {"eq": "neq", "neq": "eq", "gt": "lte", "gte": "lt", "lt": "gte", "lte": "gt"}[op]
    facts = SplitFacts(scores=scores)
    a = holds({"score": {"group": "lead", "op": op, "value": value}}, facts)[0]
    b = holds({"score": {"group": "lead", "op": opposite, "value": value}}, facts)[0]

    assert a != b
    assert holds(
        {
            "any": [
                {"score": {"group": "lead", "op": op, "value": value}},
                {"score": {"group": "lead", "op": opposite, "value": value}},
            ]
        },
        facts,
    )[0]


@given(st.lists(st.booleans(), min_size=1, max_size=6))
def test_the_branch_taken_is_the_first_whose_segment_holds(members: list[bool]) -> None:
    facts = SplitFacts(segments={f"s{i}": member for i, member in enumerate(members)})
    conditions = [CONDITION.validate_python({"segment": f"s{i}"}) for i in range(len(members))]

    decision = decide(conditions, facts)

    assert decision.branch == (members.index(True) if True in members else None)
