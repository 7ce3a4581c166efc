"""The fallback chain and the circuit breaker, with scripted adapters."""

from __future__ import annotations

import pytest

from activities.delivery.breaker import BreakerPolicy, CircuitBreaker
from activities.delivery.chain import ChainExhausted, ChainLink, PermanentlyRefused, deliver_through
from activities.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    ProviderConfigurationError,
    TransientDeliveryError,
)
from domain.delivery.outbound import Acceptance


class Scripted:
    """Answers each send with the next scripted outcome (an exception to raise, or None to accept)."""

    def __init__(self, name: str, *outcomes: DeliveryError | None) -> None:
        self.name = name
        self.outcomes = list(outcomes)
        self.calls = 0

    async def send(self) -> Acceptance:
        self.calls += 1
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        return Acceptance(provider=self.name, provider_message_id=f"{self.name}-{self.calls}")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def links(*adapters: Scripted) -> list[ChainLink[Scripted]]:
    return [ChainLink(provider_id=a.name, name=a.name, adapter=a) for a in adapters]


async def send(adapter: Scripted) -> Acceptance:
    return await adapter.send()


async def test_the_primary_sends_when_it_works() -> None:
    primary, secondary = Scripted("primary"), Scripted("secondary")
    result = await deliver_through(links(primary, secondary), send, CircuitBreaker())
    assert result.acceptance.provider == "primary"
    assert result.failed_before == []
    assert secondary.calls == 0


async def test_a_transient_failure_fails_over_once() -> None:
    primary = Scripted("primary", TransientDeliveryError("503 service unavailable"))
    secondary = Scripted("secondary")
    result = await deliver_through(links(primary, secondary), send, CircuitBreaker())
    assert result.acceptance.provider == "secondary"
    assert [(a.provider, a.outcome) for a in result.failed_before] == [("primary", "transient")]
    assert (primary.calls, secondary.calls) == (1, 1)


async def test_a_configuration_error_fails_over() -> None:
    primary = Scripted("primary", ProviderConfigurationError("401 bad api key"))
    result = await deliver_through(links(primary, Scripted("secondary")), send, CircuitBreaker())
    assert result.acceptance.provider == "secondary"
    assert result.failed_before[0].outcome == "misconfigured"


async def test_a_permanent_failure_does_not_fail_over() -> None:
    primary = Scripted("primary", PermanentDeliveryError("400 invalid recipient", code="invalid_recipient"))
    secondary = Scripted("secondary")
    with pytest.raises(PermanentlyRefused) as refused:
        await deliver_through(links(primary, secondary), send, CircuitBreaker())
    assert refused.value.provider == "primary"
    assert refused.value.code == "invalid_recipient"
    assert "invalid recipient" in str(refused.value)
    assert secondary.calls == 0


async def test_exhausted_chain_is_transient_with_the_soonest_retry_after() -> None:
    primary = Scripted("primary", TransientDeliveryError("429", retry_after=30))
    secondary = Scripted("secondary", TransientDeliveryError("503", retry_after=7))
    with pytest.raises(ChainExhausted) as exhausted:
        await deliver_through(links(primary, secondary), send, CircuitBreaker())
    assert exhausted.value.retry_after == 7
    assert [a.provider for a in exhausted.value.attempts] == ["primary", "secondary"]
    assert isinstance(exhausted.value, TransientDeliveryError)


async def test_a_failure_without_retry_after_leaves_the_delay_to_the_retry_policy() -> None:
    primary = Scripted("primary", TransientDeliveryError("429", retry_after=30))
    secondary = Scripted("secondary", TransientDeliveryError("connection reset"))
    with pytest.raises(ChainExhausted) as exhausted:
        await deliver_through(links(primary, secondary), send, CircuitBreaker())
    assert exhausted.value.retry_after is None


async def test_an_empty_chain_is_exhausted() -> None:
    with pytest.raises(ChainExhausted, match="no provider configured"):
        await deliver_through(links(), send, CircuitBreaker())


async def test_the_breaker_skips_a_failing_provider_and_lets_it_back_after_the_cool_down() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerPolicy(failure_threshold=3, cooldown_seconds=60), clock=clock)
    primary = Scripted("primary", *[TransientDeliveryError("503")] * 3)
    secondary = Scripted("secondary")
    for _ in range(3):
        assert (await deliver_through(links(primary, secondary), send, breaker)).acceptance.provider == "secondary"
    assert breaker.is_open("primary")

    skipped = await deliver_through(links(primary, secondary), send, breaker)
    assert skipped.acceptance.provider == "secondary"
    assert skipped.failed_before[0].outcome == "circuit_open"
    assert primary.calls == 3

    clock.now += 61  # cool-down over: one trial goes to the primary, which has recovered
    recovered = await deliver_through(links(primary, secondary), send, breaker)
    assert recovered.acceptance.provider == "primary"
    assert not breaker.is_open("primary")


async def test_a_failed_trial_reopens_the_circuit() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerPolicy(failure_threshold=1, cooldown_seconds=60), clock=clock)
    breaker.record_failure("primary")
    assert not breaker.allows("primary")
    clock.now += 60
    assert breaker.allows("primary")
    assert not breaker.allows("primary"), "only one trial while half-open"
    breaker.record_failure("primary")
    assert breaker.reopens_in("primary") == 60
    clock.now += 60
    assert breaker.allows("primary")
    breaker.record_success("primary")
    assert breaker.allows("primary")
    assert breaker.allows("primary")


async def test_all_circuits_open_answers_when_the_first_reopens() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerPolicy(failure_threshold=1, cooldown_seconds=60), clock=clock)
    breaker.record_failure("primary")
    clock.now += 20
    breaker.record_failure("secondary")
    primary, secondary = Scripted("primary"), Scripted("secondary")
    with pytest.raises(ChainExhausted) as exhausted:
        await deliver_through(links(primary, secondary), send, breaker)
    assert exhausted.value.retry_after == 40
    assert primary.calls == secondary.calls == 0
