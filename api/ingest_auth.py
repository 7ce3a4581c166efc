"""Write-key authentication for the ingestion hot path, with a short in-memory cache.

Every ingestion request carries a write key; looking it up costs a database round trip, so each app process
remembers a valid key's workspace for `ttl` seconds. A revoked key therefore keeps working for at most that long
in a process that saw it recently. Invalid keys are not remembered (a key created a moment ago works at once, and
a flood of made-up keys cannot grow the cache); the cache is bounded anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.context import AppContext
from api.deps import basic_auth_user
from api.errors import Unauthorized
from domain.access.keys import digest
from store.workspaces import find_write_key

DEFAULT_TTL_SECONDS = 5.0
_MAX_ENTRIES = 10_000
_EXTRAS_KEY = "write_key_cache"


class WriteKeyCache:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        ttl: float = DEFAULT_TTL_SECONDS,
        max_entries: int = _MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[str, tuple[float, str]] = {}  # sha256(write key) -> (expires at, workspace id)

    async def workspace_for(self, write_key: str) -> str | None:
        """The workspace of a valid, unrevoked write key, else None."""
        key_hash = digest(write_key)
        now = self._clock()
        cached = self._entries.get(key_hash)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self._sessions() as session:
            row = await find_write_key(session, write_key)
        if row is None or row.revoked_at is not None:
            self._entries.pop(key_hash, None)
            return None
        if len(self._entries) >= self._max_entries:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
        workspace_id: str = row.workspace_id
        self._entries[key_hash] = (now + self._ttl, workspace_id)
        return workspace_id

    def forget(self) -> None:
        """Drop everything (a process that revokes a key calls this so the revocation is immediate there)."""
        self._entries.clear()


def write_key_cache(context: AppContext) -> WriteKeyCache:
    cache = context.extras.get(_EXTRAS_KEY)
    if not isinstance(cache, WriteKeyCache):
        cache = WriteKeyCache(context.sessions)
        context.extras[_EXTRAS_KEY] = cache
    return cache


def header_write_key(request: Request) -> str | None:
    """The write key from `Authorization: Basic`, None without an Authorization header (401 if malformed)."""
    if not request.headers.get("authorization"):
        return None
    return basic_auth_user(request)


def body_write_key(body: Any) -> str:
    """Segment also accepts the write key as `writeKey` in the JSON body (what its docs call writeKey auth)."""
    key = body.get("writeKey") if isinstance(body, dict) else None
    if not isinstance(key, str) or not key:
        raise Unauthorized(
            "send the write key as the HTTP Basic user (or as writeKey in the body)", code="missing_write_key"
        )
    return key


async def authenticate(context: AppContext, write_key: str) -> str:
    workspace_id = await write_key_cache(context).workspace_for(write_key)
    if workspace_id is None:
        raise Unauthorized("the write key is not valid", code="invalid_write_key")
    return workspace_id
