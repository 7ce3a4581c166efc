"""A per-process cache of values that may be a few seconds stale: loaded on a miss, reloaded once too old."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


class TtlCache(Generic[Key, Value]):
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._entries: dict[Key, tuple[float, Value]] = {}

    async def get(self, key: Key, load: Callable[[], Awaitable[Value]]) -> Value:
        """The cached value (None included) while younger than `seconds`, else what `load` gives now."""
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry[0] < self._seconds:
            return entry[1]
        value = await load()
        self._entries[key] = (self._clock(), value)
        return value

    def forget(self, key: Key) -> None:
        self._entries.pop(key, None)
