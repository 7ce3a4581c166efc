"""A circuit breaker per provider: after `failure_threshold` consecutive failures the provider is skipped for
`cooldown_seconds`; then one trial send is let through (half-open), and its outcome closes or re-opens it.

The state lives in the worker process: each worker learns on its own sends, which needs no coordination and
costs no round trip. A provider failing everywhere trips every worker's breaker after a few sends each.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class BreakerPolicy:
    failure_threshold: int = 5
    cooldown_seconds: float = 30.0


@dataclass
class _Circuit:
    failures: int = 0
    open_until: float | None = None
    trial_in_flight: bool = False


class CircuitBreaker:
    def __init__(self, policy: BreakerPolicy | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._policy = policy or BreakerPolicy()
        self._clock = clock
        self._circuits: dict[str, _Circuit] = {}

    def allows(self, key: str) -> bool:
        """May a send go to this provider now? Claims the single half-open trial when the cool-down is over."""
        circuit = self._circuits.get(key)
        if circuit is None or circuit.open_until is None:
            return True
        if self._clock() < circuit.open_until or circuit.trial_in_flight:
            return False
        circuit.trial_in_flight = True
        return True

    def record_success(self, key: str) -> None:
        self._circuits.pop(key, None)

    def record_failure(self, key: str) -> None:
        circuit = self._circuits.setdefault(key, _Circuit())
        circuit.failures += 1
        if circuit.trial_in_flight or circuit.failures >= self._policy.failure_threshold:
            circuit.open_until = self._clock() + self._policy.cooldown_seconds
        circuit.trial_in_flight = False

    def release(self, key: str) -> None:
        """Give back a half-open trial whose send ended without a verdict (cancelled), so another may try."""
        circuit = self._circuits.get(key)
        if circuit is not None:
            circuit.trial_in_flight = False

    def reopens_in(self, key: str) -> float | None:
        """Seconds until an open circuit lets a trial through; None when it is closed."""
        circuit = self._circuits.get(key)
        if circuit is None or circuit.open_until is None:
            return None
        return max(0.0, circuit.open_until - self._clock())

    def is_open(self, key: str) -> bool:
        return self.reopens_in(key) is not None
