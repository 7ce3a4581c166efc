"""Caps per rule per window: a rule grants at most `cap` points (in magnitude) per contact per window.

Windows are tumbling and aligned on the epoch (`window_index`), so the same event falls in the same window in
real time and in a recompute. Within a window events are granted in (timestamp, id) order: the n-th event gets
what is left of the cap after the n-1 before it.
"""

from __future__ import annotations


def window_index(event_hour: int, window_hours: int) -> int:
    return event_hour // window_hours


def granted(points_micro: int, cap_micro: int | None, already_micro: int) -> int:
    """What an event earns when `already_micro` was granted in its window before it (magnitudes)."""
    if cap_micro is None:
        return points_micro
    left = max(0, cap_micro - abs(already_micro))
    magnitude = min(abs(points_micro), left)
    return magnitude if points_micro >= 0 else -magnitude
