"""Recording a dead letter from a workflow: one row per (kind, subject), however often the activity is retried."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.dead_letters.contracts import RECORD_DEAD_LETTER, RecordDeadLetterInput, RecordDeadLetterOutput
from domain.clock import utcnow
from store.dead_letters import DeadLetterIn, record_dead_letter


class DeadLetterActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name=RECORD_DEAD_LETTER)
    async def record(self, request: RecordDeadLetterInput) -> RecordDeadLetterOutput:
        item = DeadLetterIn(
            workspace_id=request.workspace_id,
            kind=request.kind,
            subject_id=request.subject_id,
            error_type=request.error_type,
            error=request.error,
            failed_at=utcnow(),
            input=request.input,
            workflow_id=request.workflow_id,
            run_id=request.run_id,
            activity_id=request.activity_id,
            journey_id=request.journey_id,
            contact_id=request.contact_id,
            attempts=request.attempts,
            first_failed_at=request.first_failed_at,
        )
        async with self._sessions() as session:
            recorded = await record_dead_letter(session, item)
            await session.commit()
        return RecordDeadLetterOutput(recorded=recorded)
