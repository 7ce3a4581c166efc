"""One-time webhook tokens: claimed once, kept only while a request carrying them could still be accepted."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import WebhookNonce
from store.queries import insert_ignoring


async def claim_nonce(
    session: AsyncSession, provider_id: str, nonce: str, signed_at: datetime, *, keep: timedelta
) -> bool:
    """Record the token; False when it was seen before (a replay). Tokens signed more than `keep` ago are pruned:
    a request that old is refused as stale before its token is looked at."""
    await session.execute(
        delete(WebhookNonce).where(
            col(WebhookNonce.provider_id) == provider_id, col(WebhookNonce.signed_at) < signed_at - keep
        )
    )
    table: Any = WebhookNonce.__table__  # type: ignore[attr-defined]
    statement = insert_ignoring(session.get_bind().dialect.name, table, "provider_id", "nonce")
    values = {"provider_id": provider_id, "nonce": nonce, "signed_at": signed_at}
    result = await session.execute(statement.values(**values).returning(table.c.nonce))
    return result.first() is not None  # RETURNING, since psycopg's rowcount of an ON CONFLICT insert is -1 here
