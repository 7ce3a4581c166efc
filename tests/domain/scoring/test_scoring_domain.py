"""Scoring's pure model: decay, caps, rule validation, crossings, and the score_crossed journey trigger."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from domain.events.interest import OutboxKind
from domain.journeys.definition import validate_definition
from domain.journeys.triggers import Trigger
from domain.scoring.caps import granted, window_index
from domain.scoring.decay import MICRO, decayed, score_of
from domain.scoring.rules import Direction, RuleSpec, crossed


def test_decay_halves_per_half_life_and_never_grows() -> None:
    assert decayed(10 * MICRO, 0, 24) == 10 * MICRO
    assert decayed(10 * MICRO, 24, 24) == 5 * MICRO
    assert decayed(10 * MICRO, 240, 24) == 10 * MICRO >> 10
    assert decayed(10 * MICRO, 10**9, 1) == 0
    assert decayed(-10 * MICRO, 24, 24) == -5 * MICRO
    assert decayed(7 * MICRO, 1000, None) == 7 * MICRO
    rng = random.Random(1)
    for _ in range(500):
        points, half = rng.randint(0, 10**9), rng.randint(1, 1000)
        age = rng.randint(0, 5000)
        assert decayed(points, age + 1, half) <= decayed(points, age, half) <= points


def test_a_score_is_the_same_whatever_order_its_entries_come_in() -> None:
    rng = random.Random(2)
    entries = [(rng.randint(-(10**8), 10**8), rng.randint(0, 10_000), rng.choice([None, 5, 48])) for _ in range(200)]
    reference = 10_000
    shuffled = entries[:]
    rng.shuffle(shuffled)
    assert score_of(entries, reference) == score_of(shuffled, reference)
    # real time in pieces (per batch) and a recompute at once: the same integer
    pieces = sum(score_of(entries[i : i + 7], reference) for i in range(0, len(entries), 7))
    assert pieces == score_of(entries, reference)


def test_caps_grant_what_is_left_in_the_window() -> None:
    cap = 12 * MICRO
    already = 0
    got = []
    for _ in range(4):
        g = granted(5 * MICRO, cap, already)
        got.append(g)
        already += g
    assert got == [5 * MICRO, 5 * MICRO, 2 * MICRO, 0]
    assert granted(-5 * MICRO, cap, -10 * MICRO) == -2 * MICRO
    assert granted(5 * MICRO, None, 10**12) == 5 * MICRO
    assert window_index(47, 24) == 1
    assert window_index(48, 24) == 2


def test_rules_are_validated() -> None:
    RuleSpec.model_validate({"name": "a", "group": "engagement", "points": 1, "event": "x"})
    RuleSpec.model_validate(
        {"name": "a", "group": "fit", "points": 1, "attributes": [{"property": "plan", "op": "eq", "value": "pro"}]}
    )
    for bad in (
        {"name": "a", "group": "total", "points": 1, "event": "x"},
        {"name": "a", "group": "g", "points": 1},
        {"name": "a", "group": "g", "points": 1, "event": "x", "attributes": []},
        {"name": "a", "group": "g", "points": 1, "attributes": [], "cap": {"points": 1, "window_hours": 1}},
        {"name": "a", "group": "Bad!", "points": 1, "event": "x"},
        {"name": "a", "group": "g", "points": 1, "event": "x", "cap": {"points": 0, "window_hours": 1}},
    ):
        with pytest.raises(ValidationError):
            RuleSpec.model_validate(bad)


def test_crossings_up_and_down() -> None:
    assert crossed(9, 10, 10, Direction.UP)
    assert not crossed(10, 11, 10, Direction.UP)
    assert not crossed(11, 9, 10, Direction.UP)
    assert crossed(10, 9.5, 10, Direction.DOWN)
    assert not crossed(9, 8, 10, Direction.DOWN)


def test_score_crossed_trigger() -> None:
    trigger = Trigger.model_validate({"score_crossed": {"group": "total", "threshold": 50, "direction": "up"}})
    props = {"group": "total", "threshold": 50.0, "direction": "up", "score": 51.0, "previous": 40.0}
    assert trigger.accepts(OutboxKind.SCORE_CROSSED, "total", props)
    assert not trigger.accepts(OutboxKind.EVENT, "total", props)
    assert not trigger.accepts(OutboxKind.SCORE_CROSSED, "interest", props)
    assert not trigger.accepts(OutboxKind.SCORE_CROSSED, "total", {**props, "direction": "down"})
    assert not trigger.accepts(OutboxKind.SCORE_CROSSED, "total", {**props, "threshold": 60})
    assert trigger.label == "score_crossed:total"
    event = Trigger.model_validate({"event": "signed_up"})
    assert not event.accepts(OutboxKind.SCORE_CROSSED, "signed_up", {})
    assert event.accepts(OutboxKind.EVENT, "signed_up", {})
    with pytest.raises(ValidationError):
        Trigger.model_validate({"event": "x", "score_crossed": {"group": "total", "threshold": 1}})
    with pytest.raises(ValidationError):
        Trigger.model_validate({})
    definition = validate_definition(
        {
            "trigger": {"score_crossed": {"group": "total", "threshold": 50}},
            "start": "e",
            "steps": [{"id": "e", "type": "end"}],
        }
    )
    assert definition.trigger.score_crossed is not None
