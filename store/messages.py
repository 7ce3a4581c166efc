"""The message log: one row per message a journey asked to send, keyed by its idempotency key."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import MessageLog
from store.queries import insert_or_get


async def find_by_idempotency_key(session: AsyncSession, key: str) -> MessageLog | None:
    result = await session.execute(select(MessageLog).where(col(MessageLog.idempotency_key) == key))
    return result.scalar_one_or_none()


async def claim(session: AsyncSession, draft: MessageLog) -> MessageLog:
    """Insert the log row, or return the existing one with the same idempotency key."""
    return await insert_or_get(
        session, draft, lambda: find_by_idempotency_key(session, draft.idempotency_key), key=("idempotency_key",)
    )
