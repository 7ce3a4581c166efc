"""The fallback chain: try a channel's providers in order until one accepts the message.

- A transient failure (timeout, 429, 5xx) or a provider-side configuration error fails over to the next provider
  and counts against that provider's circuit breaker.
- A permanent failure (invalid recipient, rejected content) stops the chain: no other provider would do better,
  and trying would only spread the bad message.
- An uncertain outcome (the provider may have taken the message, its answer was lost) stops the chain too: a next
  provider could deliver it a second time.
- `on_attempt`, when given, runs when the message is handed to a provider: right before the provider's send call
  (after the deadline and breaker checks), or, for an adapter with `defers_handover` (SMTP), from inside the call
  right before the message itself goes out (base.hand_over). The journey step marks its message `sending` there,
  so the window in which a crash leaves the outcome unknown covers only the hand-over itself. A failure of
  `on_attempt` sends nothing and propagates as it is, with no verdict on the provider.
- A provider whose circuit is open is skipped, and no provider is tried once the deadline has passed. When no
  provider could take the message, the send fails with a transient error carrying the soonest moment worth
  retrying.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from activities.delivery.base import handover
from activities.delivery.breaker import CircuitBreaker
from activities.delivery.errors import (
    PermanentDeliveryError,
    ProviderConfigurationError,
    TransientDeliveryError,
    UncertainDeliveryError,
)
from domain.delivery.outbound import Acceptance

Adapter = TypeVar("Adapter")
_NO_HINT = -1.0


@dataclass(frozen=True)
class ChainLink(Generic[Adapter]):
    provider_id: str
    name: str
    adapter: Adapter


@dataclass(frozen=True)
class FailedAttempt:
    provider: str
    outcome: Literal["circuit_open", "transient", "misconfigured", "out_of_time"]
    error: str


@dataclass(frozen=True)
class ChainResult:
    provider_id: str
    acceptance: Acceptance
    failed_before: list[FailedAttempt] = field(default_factory=list)


class ChainExhausted(TransientDeliveryError):
    """No provider of the chain took the message."""

    def __init__(self, attempts: list[FailedAttempt], retry_after: float | None) -> None:
        summary = "; ".join(f"{a.provider}: {a.outcome}: {a.error}" for a in attempts) or "no provider configured"
        super().__init__(
            f"no provider accepted the message ({summary})", code="chain_exhausted", retry_after=retry_after
        )
        self.attempts = attempts


class PermanentlyRefused(PermanentDeliveryError):
    """A provider refused the message for good; `provider` says which."""

    def __init__(self, link: ChainLink[Any], cause: PermanentDeliveryError, attempts: list[FailedAttempt]) -> None:
        super().__init__(f"{link.name}: {cause}", code=cause.code)
        self.provider = link.name
        self.provider_id = link.provider_id
        self.attempts = attempts


class OutcomeUncertain(UncertainDeliveryError):
    """A provider may have taken the message; `provider_id` says which."""

    def __init__(self, link: ChainLink[Any], cause: UncertainDeliveryError, attempts: list[FailedAttempt]) -> None:
        super().__init__(f"{link.name}: {cause}", code=cause.code)
        self.provider_id = link.provider_id
        self.attempts = attempts


class _HandoverFailed(Exception):
    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


async def _attempt(
    link: ChainLink[Adapter],
    send: Callable[[Adapter], Awaitable[Acceptance]],
    on_attempt: Callable[[ChainLink[Adapter]], Awaitable[None]] | None,
) -> Acceptance:
    if on_attempt is None:
        return await send(link.adapter)

    async def mark() -> None:
        try:
            await on_attempt(link)
        except Exception as exc:  # told apart from the provider's own failures
            raise _HandoverFailed(exc) from exc

    if not getattr(link.adapter, "defers_handover", False):
        await mark()
        return await send(link.adapter)
    token = handover.set(mark)
    try:
        return await send(link.adapter)
    finally:
        handover.reset(token)


async def deliver_through(
    links: Sequence[ChainLink[Adapter]],
    send: Callable[[Adapter], Awaitable[Acceptance]],
    breaker: CircuitBreaker,
    deadline: float | None = None,
    on_attempt: Callable[[ChainLink[Adapter]], Awaitable[None]] | None = None,
) -> ChainResult:
    """Try the links in order; `deadline` (time.monotonic()) is when no further provider may be started."""
    attempts: list[FailedAttempt] = []
    waits: list[float] = []
    for link in links:
        if deadline is not None and time.monotonic() >= deadline:
            attempts.append(FailedAttempt(link.name, "out_of_time", "not tried: the send ran out of time"))
            waits.append(_NO_HINT)
            break
        if not breaker.allows(link.provider_id):
            attempts.append(FailedAttempt(link.name, "circuit_open", "skipped while its circuit is open"))
            waits.append(breaker.reopens_in(link.provider_id) or 0.0)
            continue
        try:
            acceptance = await _attempt(link, send, on_attempt)
        except _HandoverFailed as failed:
            breaker.release(link.provider_id)  # nothing went to the provider: no verdict on it
            raise failed.cause from None
        except PermanentDeliveryError as exc:
            breaker.record_success(link.provider_id)  # it answered: the provider works, the message does not
            raise PermanentlyRefused(link, exc, attempts) from exc
        except UncertainDeliveryError as exc:
            breaker.record_failure(link.provider_id)
            raise OutcomeUncertain(link, exc, attempts) from exc
        except TransientDeliveryError as exc:
            if exc.provider_fault:
                breaker.record_failure(link.provider_id)
            else:
                breaker.release(link.provider_id)
            attempts.append(FailedAttempt(link.name, "transient", str(exc)))
            waits.append(exc.retry_after if exc.retry_after is not None else _NO_HINT)
            continue
        except ProviderConfigurationError as exc:
            breaker.record_failure(link.provider_id)
            attempts.append(FailedAttempt(link.name, "misconfigured", str(exc)))
            waits.append(_NO_HINT)
            continue
        except Exception:
            breaker.record_failure(link.provider_id)  # an adapter bug is this provider's failure too
            raise
        except BaseException:
            breaker.release(link.provider_id)  # cancelled: no verdict on the provider
            raise
        breaker.record_success(link.provider_id)
        return ChainResult(link.provider_id, acceptance, attempts)
    # The soonest any provider may take it; a failure without a Retry-After leaves it to the retry policy.
    soonest = min(waits, default=_NO_HINT)
    raise ChainExhausted(attempts, retry_after=None if soonest == _NO_HINT else soonest)
