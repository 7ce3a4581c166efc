"""The fallback chain and the circuit breaker, with scripted adapters."""

from __future__ import annotations

import asyncio
import time

import pytest

from activities.delivery.breaker import BreakerPolicy, CircuitBreaker
from activities.delivery.chain import (
    ChainExhausted,
    ChainLink,
    OutcomeUncertain,
    PermanentlyRefused,
    deliver_through,
)
from activities.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    ProviderConfigurationError,
    TransientDeliveryError,
    UncertainDeliveryError,
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


async def test_an_uncertain_outcome_stops_the_chain() -> None:
    primary = Scripted("primary", UncertainDeliveryError("read timed out after the request", code="timeout"))
    secondary = Scripted("secondary")
    with pytest.raises(OutcomeUncertain) as uncertain:
        await deliver_through(links(primary, secondary), send, CircuitBreaker())
    assert uncertain.value.provider_id == "primary"
    assert secondary.calls == 0, "a second provider could deliver a second copy"


async def test_a_recipients_temporary_refusal_does_not_trip_the_breaker() -> None:
    breaker = CircuitBreaker(BreakerPolicy(failure_threshold=1))
    greylisted = TransientDeliveryError("450 greylisted", provider_fault=False)
    result = await deliver_through(links(Scripted("primary", greylisted), Scripted("secondary")), send, breaker)
    assert result.acceptance.provider == "secondary"
    assert not breaker.is_open("primary")


async def test_no_provider_is_started_after_the_deadline() -> None:
    primary = Scripted("primary", TransientDeliveryError("503"))
    secondary = Scripted("secondary")

    async def slow_send(adapter: Scripted) -> Acceptance:
        return await adapter.send()

    with pytest.raises(ChainExhausted) as exhausted:
        await deliver_through(links(primary, secondary), slow_send, CircuitBreaker(), deadline=time.monotonic())
    assert primary.calls == secondary.calls == 0
    assert [a.outcome for a in exhausted.value.attempts] == ["out_of_time"]


class Crashing:
    def __init__(self, error: BaseException) -> None:
        self.name = "primary"
        self.error = error

    async def send(self) -> Acceptance:
        raise self.error


async def test_a_half_open_trial_that_is_cancelled_lets_the_next_trial_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerPolicy(failure_threshold=1, cooldown_seconds=10), clock=clock)
    breaker.record_failure("primary")
    clock.now += 10
    crashing = Crashing(asyncio.CancelledError())
    with pytest.raises(asyncio.CancelledError):
        await deliver_through([ChainLink("primary", "primary", crashing)], lambda a: a.send(), breaker)
    assert breaker.allows("primary"), "the cancelled trial must not keep the circuit closed to trials forever"


async def test_an_adapter_bug_counts_as_the_providers_failure_and_releases_the_trial() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerPolicy(failure_threshold=1, cooldown_seconds=10), clock=clock)
    breaker.record_failure("primary")
    clock.now += 10
    with pytest.raises(ValueError, match="unexpected"):
        await deliver_through(
            [ChainLink("primary", "primary", Crashing(ValueError("unexpected")))], lambda a: a.send(), breaker
        )
    assert breaker.reopens_in("primary") == 10
    clock.now += 10
    assert breaker.allows("primary")
