"""The segment filter model: what parses, what is refused (with the path and a stable code), and what it depends
on; the reference evaluator on hand-made cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.segments.analysis import dependencies, find_cycle
from domain.segments.filters import (
    INVALID,
    TOO_DEEP,
    TOO_LARGE,
    SegmentFilterError,
    parse_filter,
    to_json,
)
from domain.segments.reference import RefContact, RefEvent, World, members

NOW = datetime(2026, 12, 1, tzinfo=UTC)
PRICING = {"event": "viewed", "where": [{"property": "path", "op": "eq", "value": "/pricing"}],
           "count": {"op": "gte", "value": 3}, "window": {"days": 7}}  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "path", "code"),
    [
        ({"and": [{"segment": "s"}, {"event": "x", "window": {}}]}, "filter.and[1].window", INVALID),
        ({"event": "x", "window": {"days": -1}}, "filter.window.days", INVALID),
        ({"or": []}, "filter.or", INVALID),
        ({"not": {"attribute": "a", "op": "in", "value": "x"}}, "filter.not", INVALID),
        ({"attribute": "a", "op": "gt", "value": True}, "filter", INVALID),
        ({"field": "created_at", "op": "eq", "value": "x"}, "filter", INVALID),
        ({"score": "total"}, "filter", INVALID),
        ({"attribute": "a", "segment": "b"}, "filter", INVALID),
        ({"consent": "push", "state": "subscribed"}, "filter.consent", INVALID),
        ([], "filter", INVALID),
        ({"and": [{"not": {"not": {"not": {"not": {"not": {}}}}}}]}, "filter.and[0].not.not.not.not.not", TOO_DEEP),
        ({"or": [{"and": [{"segment": "s"}] * 50}] * 4}, "filter.or[3].and[45]", TOO_LARGE),
    ],
)  # fmt: skip
def test_invalid_filters_name_the_path(raw: Any, path: str, code: str) -> None:
    with pytest.raises(SegmentFilterError) as caught:
        parse_filter(raw)
    assert (caught.value.path, caught.value.code) == (path, code)


def test_canonical_json_parses_back_to_the_same_filter() -> None:
    raw = {"and": [PRICING, {"not": {"score": "eng", "gte": 10}}, {"consent": "email", "state": "subscribed"}]}
    node = parse_filter(raw)
    assert parse_filter(to_json(node)) == node


def test_dependencies_say_what_can_change_membership() -> None:
    node = parse_filter({"or": [PRICING, {"segment": "sg_a"}, {"attribute": "plan", "op": "exists"}]})
    found = dependencies(node)
    assert found.event_names == {"viewed"}
    assert found.segments == {"sg_a"}
    assert found.contact_fields
    assert found.time_based
    assert not found.scores
    since = parse_filter(
        {"event": "bought", "count": {"op": "eq", "value": 0}, "window": {"since": "2026-01-01T00:00:00Z"}}
    )
    assert not dependencies(since).time_based  # an absolute instant: time alone changes nothing


def test_cycles_are_found() -> None:
    assert find_cycle("a", {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"})}) == [
        "a",
        "b",
        "c",
        "a",
    ]
    assert find_cycle("a", {"a": frozenset({"b"}), "b": frozenset({"c"})}) is None


def test_reference_counts_events_in_the_window_with_properties() -> None:
    ann, bob = RefContact("ann"), RefContact("bob")
    views = [RefEvent("ann", "viewed", NOW - timedelta(days=d), {"path": "/pricing"}) for d in (1, 2, 3)]
    views += [RefEvent("bob", "viewed", NOW - timedelta(days=d), {"path": "/pricing"}) for d in (1, 2, 9)]
    world = World([ann, bob], views)
    assert members(world, parse_filter(PRICING), NOW) == {"ann"}
    never = {"event": "bought", "count": {"op": "eq", "value": 0}, "window": {"since": "2026-11-01T00:00:00Z"}}
    world.events.append(RefEvent("bob", "bought", NOW - timedelta(days=2)))
    assert members(world, parse_filter(never), NOW) == {"ann"}


def test_reference_typed_comparisons_scores_consent() -> None:
    world = World(
        [
            RefContact("a", email="a@x.io", attributes={"n": 3, "tags": ["vip"], "flag": True}),
            RefContact("b", email="b@x.io", attributes={"n": "3", "tags": "vip-ish"}),
            RefContact("c", attributes={"n": None}),
        ],
        scores={("a", "total"): 12.0},
        suppressed={("email", "b@x.io")},
    )
    assert members(world, parse_filter({"attribute": "n", "op": "gte", "value": 3}), NOW) == {"a"}
    assert members(world, parse_filter({"attribute": "n", "op": "neq", "value": 3}), NOW) == {"b"}
    assert members(world, parse_filter({"attribute": "n", "op": "exists", "value": False}), NOW) == {"c"}
    assert members(world, parse_filter({"attribute": "tags", "op": "contains", "value": "vip"}), NOW) == {"a", "b"}
    assert members(world, parse_filter({"attribute": "flag", "op": "eq", "value": 1}), NOW) == set()
    assert members(world, parse_filter({"score": "total", "lt": 10}), NOW) == {"b", "c"}
    assert members(world, parse_filter({"consent": "email", "state": "subscribed"}), NOW) == {"a"}
    assert members(world, parse_filter({"consent": "email", "state": "suppressed"}), NOW) == {"b"}
