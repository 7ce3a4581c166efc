"""Deterministic A/B and holdout assignment: stable per contact, split by the weights, independent salts."""

from __future__ import annotations

from collections import Counter

from domain.journeys.assignment import ab_arm, holdout_bucket, in_holdout

CONTACTS = [f"ct_{n}" for n in range(4000)]


def test_the_arm_is_the_same_every_time() -> None:
    assert [ab_arm("jr", "ab", c, [1, 1]) for c in CONTACTS[:50]] == [
        ab_arm("jr", "ab", c, [1, 1]) for c in CONTACTS[:50]
    ]


def test_arms_follow_the_weights() -> None:
    counts = Counter(ab_arm("jr", "ab", c, [1, 3]) for c in CONTACTS)

    assert set(counts) == {0, 1}
    assert 0.2 < counts[0] / len(CONTACTS) < 0.3  # 1 in 4, within sampling noise of a fixed sample


def test_two_splits_of_one_journey_assign_independently() -> None:
    same = sum(ab_arm("jr", "first", c, [1, 1]) == ab_arm("jr", "second", c, [1, 1]) for c in CONTACTS)

    assert 0.4 < same / len(CONTACTS) < 0.6


def test_holdout_takes_about_its_percent_and_is_not_the_ab_hash() -> None:
    held = [c for c in CONTACTS if in_holdout("jr", c, 10)]

    assert 0.07 < len(held) / len(CONTACTS) < 0.13
    assert all(0 <= holdout_bucket("jr", c) < 10_000 for c in CONTACTS[:100])
    assert not in_holdout("jr", CONTACTS[0], 0.0001) or holdout_bucket("jr", CONTACTS[0]) == 0
    arms_of_held = Counter(ab_arm("jr", "ab", c, [1, 1]) for c in held)
    assert min(arms_of_held.values()) > len(held) * 0.35  # held-out contacts spread over both arms


def test_a_wider_holdout_contains_a_narrower_one() -> None:
    assert {c for c in CONTACTS if in_holdout("jr", c, 5)} <= {c for c in CONTACTS if in_holdout("jr", c, 20)}
