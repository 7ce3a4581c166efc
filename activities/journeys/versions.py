"""Published journey versions are immutable, so a worker reads and parses each one once."""

from __future__ import annotations

from collections import OrderedDict

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.exceptions import ApplicationError

from domain.journeys.definition import JourneyDefinition
from store.journeys import get_version

_MAX_CACHED = 1024


class JourneyVersions:
    def __init__(self) -> None:
        self._cache: OrderedDict[tuple[str, str, int], JourneyDefinition] = OrderedDict()

    async def get(self, session: AsyncSession, workspace_id: str, journey_id: str, version: int) -> JourneyDefinition:
        key = (workspace_id, journey_id, version)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        row = await get_version(session, workspace_id, journey_id, version)
        if row is None:
            raise ApplicationError(
                f"journey {journey_id} has no version {version}",
                type="JourneyVersionNotFound",
                non_retryable=True,
            )
        definition = JourneyDefinition.model_validate(row.definition)
        self._cache[key] = definition
        if len(self._cache) > _MAX_CACHED:
            self._cache.popitem(last=False)
        return definition
