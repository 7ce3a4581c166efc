"""Deterministic assignment of a contact to an A/B arm or to a holdout group: a hash, no randomness.

The same contact in the same journey always lands in the same arm (and the same holdout side), on every run,
retry, replay, re-entry and version; the workflow needs no random number, and the decision can be recomputed to
check it. sha256 over a salted text, reduced to a bucket: the first 8 bytes modulo the bucket count (a bias of at
most 2^-44 for the counts used here).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HOLDOUT_BUCKETS = 10_000  # percent with two decimals


def bucket(salt: str, journey_id: str, contact_id: str, buckets: int) -> int:
    digest = hashlib.sha256(f"{salt}\x00{journey_id}\x00{contact_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % buckets


def ab_arm(journey_id: str, step_id: str, contact_id: str, weights: Sequence[int]) -> int:
    """The index of the arm (weights: positive ints). The step id is in the salt, so two A/B splits of one journey
    assign independently of each other."""
    total = sum(weights)
    point = bucket(f"ab:{step_id}", journey_id, contact_id, total)
    for index, weight in enumerate(weights):
        if point < weight:
            return index
        point -= weight
    raise ValueError("weights must be positive")  # unreachable with positive weights


def holdout_bucket(journey_id: str, contact_id: str) -> int:
    """0..9999. Not salted by step: every holdout step of a journey agrees about a contact."""
    return bucket("holdout", journey_id, contact_id, HOLDOUT_BUCKETS)


def in_holdout(journey_id: str, contact_id: str, percent: float) -> bool:
    return holdout_bucket(journey_id, contact_id) < round(percent * HOLDOUT_BUCKETS / 100)
