"""Reading the dispatch outbox in tests."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from store.db import create_async_db_engine
from store.models import DispatchOutbox


async def outbox(db: async_sessionmaker[AsyncSession], workspace_id: str) -> list[DispatchOutbox]:
    """The workspace's events waiting for the dispatcher, oldest first."""
    async with db() as session:
        query = select(DispatchOutbox).where(col(DispatchOutbox.workspace_id) == workspace_id)
        result = await session.execute(query.order_by(col(DispatchOutbox.id)))
        return list(result.scalars())


async def discard_outbox(database_url: str) -> None:
    """Empty the shared test database's outbox before a test starts a dispatcher: rows other tests left (their
    stacks had no dispatcher) must not reach this test's worker and SMTP sink."""
    engine = create_async_db_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(delete(DispatchOutbox))
    finally:
        await engine.dispose()
