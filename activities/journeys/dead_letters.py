"""Recording a journey execution that failed for good, so it is visible outside Temporal too (the dead letter)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.journeys.contracts import (
    RECORD_JOURNEY_DEAD_LETTER,
    RecordJourneyDeadLetterInput,
    RecordJourneyDeadLetterOutput,
)
from domain.clock import utcnow
from domain.json_limits import printable
from store.dead_letters import record_dead_letter

_MAX_REASON_CHARS = 4000


class JourneyDeadLetterActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name=RECORD_JOURNEY_DEAD_LETTER)
    async def record(self, request: RecordJourneyDeadLetterInput) -> RecordJourneyDeadLetterOutput:
        values = request.model_dump()
        values["reason"] = printable(request.reason)[:_MAX_REASON_CHARS]  # it may quote a provider's reply
        values["error_type"] = request.error_type[:64]
        values["failed_at"] = utcnow()
        async with self._sessions() as session:
            recorded = await record_dead_letter(session, values)
            await session.commit()
        return RecordJourneyDeadLetterOutput(recorded=recorded)
