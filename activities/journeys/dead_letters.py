"""Recording a journey execution that failed for good, so it is visible outside Temporal too (the dead letter).

Stored in the one dead-letter store as kind `journey_step`, subject "<workflow id>:<run id>" (one per run)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.journeys.contracts import (
    RECORD_JOURNEY_DEAD_LETTER,
    RecordJourneyDeadLetterInput,
    RecordJourneyDeadLetterOutput,
)
from domain.clock import utcnow
from domain.dead_letters.model import DeadLetterKind
from store.dead_letters import DeadLetterIn, record_dead_letter


def journey_dead_letter(request: RecordJourneyDeadLetterInput) -> DeadLetterIn:
    return DeadLetterIn(
        workspace_id=request.workspace_id,
        kind=DeadLetterKind.JOURNEY_STEP,
        subject_id=f"{request.workflow_id}:{request.run_id}",
        error_type=request.error_type,
        error=request.reason,
        failed_at=utcnow(),
        input={
            "workspace_id": request.workspace_id,
            "journey_id": request.journey_id,
            "version": request.version,
            "contact_id": request.contact_id,
            "step_id": request.step_id,
        },
        workflow_id=request.workflow_id,
        run_id=request.run_id,
        journey_id=request.journey_id,
        contact_id=request.contact_id,
    )


class JourneyDeadLetterActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name=RECORD_JOURNEY_DEAD_LETTER)
    async def record(self, request: RecordJourneyDeadLetterInput) -> RecordJourneyDeadLetterOutput:
        async with self._sessions() as session:
            recorded = await record_dead_letter(session, journey_dead_letter(request))
            await session.commit()
        return RecordJourneyDeadLetterOutput(recorded=recorded)
