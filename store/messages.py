"""The message log: one row per message a journey asked to send, keyed by its idempotency key.

Statuses: `pending` (claimed, nothing handed to a provider yet: a retry sends), `sending` (a provider call is in
flight), `sent`, `skipped`, `failed`, `uncertain` (a provider may have the message; never sent again on its own).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import MessageLog
from store.queries import insert_or_get

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
UNCERTAIN = "uncertain"


async def find_by_idempotency_key(session: AsyncSession, key: str) -> MessageLog | None:
    result = await session.execute(select(MessageLog).where(col(MessageLog.idempotency_key) == key))
    return result.scalar_one_or_none()


async def claim(session: AsyncSession, draft: MessageLog) -> MessageLog:
    """Insert the log row, or return the existing one with the same idempotency key."""
    return await insert_or_get(
        session, draft, lambda: find_by_idempotency_key(session, draft.idempotency_key), key=("idempotency_key",)
    )


async def mark_sending(session: AsyncSession, log_id: str, provider_id: str) -> None:
    """The row's provider call starts now (the caller commits): one UPDATE by primary key, which also records
    which provider has it, so a later webhook or an operator can tell where an uncertain message went."""
    await session.execute(
        update(MessageLog).where(col(MessageLog.id) == log_id).values(status=SENDING, provider=provider_id)
    )
