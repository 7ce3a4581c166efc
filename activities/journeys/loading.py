"""Reading published journey versions (run as a local activity: a short database read inside a step)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.journeys.contracts import (
    LOAD_JOURNEY_VERSION,
    LoadJourneyVersionInput,
    LoadJourneyVersionOutput,
)
from activities.journeys.versions import JourneyVersions


class JourneyLoadingActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], versions: JourneyVersions) -> None:
        self._sessions = sessions
        self._versions = versions

    @activity.defn(name=LOAD_JOURNEY_VERSION)
    async def load_version(self, request: LoadJourneyVersionInput) -> LoadJourneyVersionOutput:
        async with self._sessions() as session:
            definition = await self._versions.get(session, request.workspace_id, request.journey_id, request.version)
        return LoadJourneyVersionOutput(definition=definition)
