"""The fallback chain: try a channel's providers in order until one accepts the message.

- A transient failure (timeout, 429, 5xx) or a provider-side configuration error fails over to the next provider
  and counts against that provider's circuit breaker.
- A permanent failure (invalid recipient, rejected content) stops the chain: no other provider would do better,
  and trying would only spread the bad message.
- A provider whose circuit is open is skipped. When no provider could take the message, the send fails with a
  transient error carrying the soonest moment worth retrying.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from activities.delivery.breaker import CircuitBreaker
from activities.delivery.errors import PermanentDeliveryError, ProviderConfigurationError, TransientDeliveryError
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
    outcome: Literal["circuit_open", "transient", "misconfigured"]
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


async def deliver_through(
    links: Sequence[ChainLink[Adapter]],
    send: Callable[[Adapter], Awaitable[Acceptance]],
    breaker: CircuitBreaker,
) -> ChainResult:
    attempts: list[FailedAttempt] = []
    waits: list[float] = []
    for link in links:
        if not breaker.allows(link.provider_id):
            attempts.append(FailedAttempt(link.name, "circuit_open", "skipped while its circuit is open"))
            waits.append(breaker.reopens_in(link.provider_id) or 0.0)
            continue
        try:
            acceptance = await send(link.adapter)
        except PermanentDeliveryError as exc:
            breaker.record_success(link.provider_id)  # it answered: the provider works, the message does not
            raise PermanentlyRefused(link, exc, attempts) from exc
        except TransientDeliveryError as exc:
            breaker.record_failure(link.provider_id)
            attempts.append(FailedAttempt(link.name, "transient", str(exc)))
            waits.append(exc.retry_after if exc.retry_after is not None else _NO_HINT)
            continue
        except ProviderConfigurationError as exc:
            breaker.record_failure(link.provider_id)
            attempts.append(FailedAttempt(link.name, "misconfigured", str(exc)))
            waits.append(_NO_HINT)
            continue
        breaker.record_success(link.provider_id)
        return ChainResult(link.provider_id, acceptance, attempts)
    # The soonest any provider may take it; a failure without a Retry-After leaves it to the retry policy.
    soonest = min(waits, default=_NO_HINT)
    raise ChainExhausted(attempts, retry_after=None if soonest == _NO_HINT else soonest)
