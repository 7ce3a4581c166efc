"""A delivery's life: pending until an attempt gets a 2xx (delivered), retried with backoff, dead once its
attempts are spent (a dead letter records it, and replay makes it pending again)."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


MAX_ATTEMPTS = 8
_SCHEDULE = (5, 30, 120, 600, 1800, 3600, 7200)  # seconds after attempt 1, 2, ... (about 3.6 h in all)


def retry_delay(attempts: int, scale: float = 1.0) -> timedelta:
    """Delay before the attempt after `attempts` failed ones (scale < 1 for tests and drills)."""
    return timedelta(seconds=_SCHEDULE[min(attempts, len(_SCHEDULE)) - 1] * scale)


def retryable_status(code: int) -> bool:
    """Every non-2xx is retried (a receiver's 4xx is as often a bad deploy as a refusal), except 410 Gone."""
    return code != 410
