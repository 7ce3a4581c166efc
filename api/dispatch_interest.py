"""Which events go to the dispatch outbox: what the workspace's dispatcher consumers care about (an `Interest`
per source: journeys, segments, scoring, outbound webhooks), united.

Ingestion and provider webhooks ask before they store, so an event nobody cares about (most page and product
views) costs no outbox row and no dispatcher work. The answer is cached for 2 s per workspace; a change that
alters it (publishing or archiving a journey, saving a segment or a scoring rule, a webhook subscription) drops
this replica's entry at once through `forget`, and other API replicas see the change within the 2 s.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.events.interest import NOTHING, Interest
from mauntic.ttl_cache import TtlCache
from store.interest import InterestSource

CACHE_SECONDS = 2.0


class DispatchInterest:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], sources: Sequence[InterestSource]) -> None:
        self._sessions = sessions
        self._sources = list(sources)
        self._cache: TtlCache[str, Interest] = TtlCache(CACHE_SECONDS)

    async def of(self, workspace_id: str) -> Interest:
        return await self._cache.get(workspace_id, lambda: self._load(workspace_id))

    async def _load(self, workspace_id: str) -> Interest:
        interest = NOTHING
        async with self._sessions() as session:
            for source in self._sources:
                interest = interest | await source(session, workspace_id)
        return interest

    def forget(self, workspace_id: str) -> None:
        """Something that changes the workspace's interest was saved in this process."""
        self._cache.forget(workspace_id)
