"""Decay of score points, in integer arithmetic so that every path computes the same value to the last unit.

Representation (why): a score is never stored as a running float that is decayed in place. It is always the sum
over its ledger entries of `decayed(points_micro, age_hours, half_life_hours)`, at one reference hour, where
points are integer millionths and the decay factor is a staircase of the exponential: every eighth of a
half-life the value is multiplied by 2^(-1/8), through an integer multiplier (`STEPS`, scaled by 2^16) and an
arithmetic right shift. Integer multiplication, shifts and sums are exact and order-independent, and SQLite,
PostgreSQL (bigint) and Python shift negative numbers the same way (towards minus infinity), so:

- the real-time consumer (a contact's entries after new events) and the batch recompute (every contact, in
  chunks) run the same SQL expression (`store.scoring_sql.decayed_sum`) and agree exactly;
- this pure function is the reference the SQL is tested against on both databases.

A running float decayed by `exp(-dt)` at every update would drift from a recompute by rounding at every step, and
a fixed-epoch scaled value (points * 2^(t/H)) overflows within a few hundred half-lives.
"""

from __future__ import annotations

from datetime import UTC, datetime

MICRO = 1_000_000
SCALE_BITS = 16
STEPS_PER_HALF_LIFE = 8
# round(2^16 * 2^(-k/8)) for k = 0..7
STEPS: tuple[int, ...] = tuple(round((1 << SCALE_BITS) * 2 ** (-k / STEPS_PER_HALF_LIFE)) for k in range(8))
MAX_SHIFT = 62  # beyond this every value is 0 or -1: clamp so SQL never shifts by more than the word


def epoch_hour(moment: datetime) -> int:
    """Whole hours since 1970-01-01 UTC (floor): the time unit of decay and of cap windows."""
    return int(moment.astimezone(UTC).timestamp() // 3600)


def micro(points: float) -> int:
    return round(points * MICRO)


def decay_steps(age_hours: int, half_life_hours: int) -> int:
    """How many eighths of a half-life have fully elapsed (0 for an entry in the future)."""
    return max(0, age_hours) * STEPS_PER_HALF_LIFE // half_life_hours


def decayed(points_micro: int, age_hours: int, half_life_hours: int | None) -> int:
    """The value of an entry `age_hours` after it was granted; no half-life: no decay."""
    if not half_life_hours:
        return points_micro
    steps = decay_steps(age_hours, half_life_hours)
    shift = min(MAX_SHIFT, SCALE_BITS + steps // STEPS_PER_HALF_LIFE)
    return (points_micro * STEPS[steps % STEPS_PER_HALF_LIFE]) >> shift


def score_of(entries: list[tuple[int, int, int | None]], reference_hour: int) -> int:
    """A score (micro points) from its ledger entries (points_micro, granted_hour, half_life_hours)."""
    return sum(decayed(points, reference_hour - hour, half_life) for points, hour, half_life in entries)


def as_points(value_micro: int) -> float:
    return value_micro / MICRO
