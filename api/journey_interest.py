"""Which events go to the dispatch outbox: those a published journey of the workspace starts on or waits for.

Ingestion and provider webhooks ask before they store, so an event no journey cares about (most page and product
views) costs no outbox row and no dispatcher work. The answer is cached for 2 s per workspace; publishing or
archiving a journey drops this replica's entry at once, and other API replicas see the change within the 2 s.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mauntic.ttl_cache import TtlCache
from store.journeys import published_event_names

CACHE_SECONDS = 2.0


class JourneyInterest:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._names: TtlCache[str, frozenset[str]] = TtlCache(CACHE_SECONDS)

    async def names(self, workspace_id: str) -> frozenset[str]:
        return await self._names.get(workspace_id, lambda: self._load(workspace_id))

    async def _load(self, workspace_id: str) -> frozenset[str]:
        async with self._sessions() as session:
            return await published_event_names(session, workspace_id)

    def forget(self, workspace_id: str) -> None:
        """A journey of the workspace was published or archived in this process."""
        self._names.forget(workspace_id)
