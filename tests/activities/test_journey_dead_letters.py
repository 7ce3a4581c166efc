"""The dead-letter activity on the real database: one row per run, whatever the failure's reason quotes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from activities.journeys.contracts import RecordJourneyDeadLetterInput
from activities.journeys.dead_letters import JourneyDeadLetterActivities
from store.models import DeadLetter
from store.workspaces import NewWorkspace


async def test_a_run_leaves_one_dead_letter_and_a_hostile_reason_is_stored_escaped(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    activities = JourneyDeadLetterActivities(sessions)
    request = RecordJourneyDeadLetterInput(
        workspace_id=workspace.workspace.id,
        journey_id="jr_1",
        version=1,
        contact_id="ct_1",
        workflow_id=f"journey:{workspace.workspace.id}:jr_1:ct_1",
        run_id="run-1",
        step_id="welcome",
        error_type="JourneyStepFailed",
        reason="550 refused: bad\x00byte \udcff " + "x" * 5000,  # a provider's reply, quoted
    )
    assert (await activities.record(request)).recorded is True
    assert (await activities.record(request)).recorded is False  # a retried activity records nothing more
    async with sessions() as session:
        rows = (
            await session.execute(select(DeadLetter).where(col(DeadLetter.workspace_id) == workspace.workspace.id))
        ).scalars()
        [row] = list(rows)
    assert row.error.startswith("550 refused: bad\\x00byte \\udcff xxx")
    assert len(row.error) == 4000
    assert (row.input["step_id"], row.error_type, row.run_id) == ("welcome", "JourneyStepFailed", "run-1")
    assert (row.kind, row.subject_id, row.status) == ("journey_step", f"{request.workflow_id}:run-1", "open")
