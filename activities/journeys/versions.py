"""Published journey versions are immutable, so a worker reads and parses each one once.

A version that cannot be run is refused with a non-retryable error, so the journey fails visibly (and leaves a
dead letter) instead of retrying forever: one that no longer validates, and one too large to travel as the
loading local activity's result. That result is recorded in the journey's history as a marker, which Temporal
caps at 2 MB: a bigger one failed the journey's first workflow task on every retry (TMPRL1103,
PAYLOADS_TOO_LARGE), leaving it Running and silent. Validation refuses definitions over 256 KB
(domain/journeys/definition.py); the bound here covers rows stored before that rule.
"""

from __future__ import annotations

from collections import OrderedDict

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.exceptions import ApplicationError

from domain.journeys.definition import JourneyDefinition, definition_size
from store.journeys import get_version

_MAX_CACHED = 1024
MAX_LOADABLE_DEFINITION_BYTES = 1024 * 1024  # half of Temporal's payload limit, leaving room for the envelope


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
        size = definition_size(row.definition)
        if size > MAX_LOADABLE_DEFINITION_BYTES:
            raise ApplicationError(
                f"journey {journey_id} v{version} is {size} bytes of JSON, more than a journey can load "
                f"({MAX_LOADABLE_DEFINITION_BYTES})",
                type="JourneyDefinitionTooLarge",
                non_retryable=True,
            )
        try:
            definition = JourneyDefinition.model_validate(row.definition)
        except ValidationError as exc:
            raise ApplicationError(
                f"journey {journey_id} v{version} no longer validates: {exc.errors(include_url=False)[0]['msg']}",
                type="JourneyDefinitionInvalid",
                non_retryable=True,
            ) from None
        self._cache[key] = definition
        if len(self._cache) > _MAX_CACHED:
            self._cache.popitem(last=False)
        return definition
