"""Journey executions that failed for good: recorded once per run, listed newest first per journey."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import JourneyDeadLetter
from store.queries import insert_if_absent


async def record_dead_letter(session: AsyncSession, values: dict[str, object]) -> bool:
    """Insert the run's dead letter; False when it is already there (a retried activity). The caller commits."""
    table = JourneyDeadLetter.__table__  # type: ignore[attr-defined]
    return await insert_if_absent(session, table, values, key=("workflow_id", "run_id"))


async def list_dead_letters(
    session: AsyncSession, workspace_id: str, journey_id: str, *, before: int | None, limit: int
) -> list[JourneyDeadLetter]:
    query = select(JourneyDeadLetter).where(
        col(JourneyDeadLetter.workspace_id) == workspace_id, col(JourneyDeadLetter.journey_id) == journey_id
    )
    if before is not None:
        query = query.where(col(JourneyDeadLetter.id) < before)
    result = await session.execute(query.order_by(col(JourneyDeadLetter.id).desc()).limit(limit))
    return list(result.scalars())
