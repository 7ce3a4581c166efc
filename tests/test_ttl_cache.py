"""The short per-process cache behind published journeys, provider chains and DKIM keys."""

from __future__ import annotations

from mauntic.ttl_cache import TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Loader:
    def __init__(self, *values: str | None) -> None:
        self.values = list(values)
        self.calls = 0

    async def __call__(self) -> str | None:
        self.calls += 1
        return self.values.pop(0)


async def test_a_value_is_reused_until_it_is_too_old() -> None:
    clock = Clock()
    cache: TtlCache[str, str | None] = TtlCache(5.0, clock=clock)
    load = Loader("first", "second")
    assert await cache.get("k", load) == "first"
    clock.now += 4.9
    assert await cache.get("k", load) == "first"
    clock.now += 0.1
    assert await cache.get("k", load) == "second"
    assert load.calls == 2


async def test_absence_is_cached_too() -> None:
    cache: TtlCache[str, str | None] = TtlCache(5.0, clock=Clock())
    load = Loader(None, "late")
    assert await cache.get("k", load) is None
    assert await cache.get("k", load) is None
    assert load.calls == 1


async def test_forget_reloads_at_once_and_keys_are_separate() -> None:
    cache: TtlCache[str, str | None] = TtlCache(5.0, clock=Clock())
    assert await cache.get("a", Loader("a1")) == "a1"
    assert await cache.get("b", Loader("b1")) == "b1"
    cache.forget("a")
    assert await cache.get("a", Loader("a2")) == "a2"
    assert await cache.get("b", Loader("b2")) == "b1"
