"""The suppression list: addresses a workspace must not send to on a channel."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.clock import utcnow
from store.models import Suppression
from store.queries import insert_ignoring


@dataclass(frozen=True)
class NewSuppression:
    channel: str
    address: str
    reason: str  # hard_bounce | complaint | unsubscribed | manual
    source: str | None = None


def normalized_address(channel: str, address: str) -> str:
    """Email addresses compare case-insensitively here (as every mailbox provider treats them)."""
    return address.strip().lower() if channel == "email" else address.strip()


async def suppress(session: AsyncSession, workspace_id: str, entries: Iterable[NewSuppression]) -> int:
    """Add entries; an address already suppressed keeps its first reason. Returns how many were new."""
    rows = [
        {
            "workspace_id": workspace_id,
            "channel": entry.channel,
            "address": normalized_address(entry.channel, entry.address),
            "reason": entry.reason,
            "source": entry.source,
            "created_at": utcnow(),
        }
        for entry in entries
    ]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    statement = insert_ignoring(dialect, Suppression.__table__, "workspace_id", "channel", "address")  # type: ignore[attr-defined]
    statement = statement.returning(Suppression.__table__.c.id)  # type: ignore[attr-defined]
    added = 0
    for row in rows:
        # Counted from RETURNING: with the implicit RETURNING of the serial id, psycopg reports rowcount -1.
        result = await session.execute(statement.values(**row))
        added += result.first() is not None
    return added


async def suppression_for(session: AsyncSession, workspace_id: str, channel: str, address: str) -> Suppression | None:
    result = await session.execute(
        select(Suppression).where(
            col(Suppression.workspace_id) == workspace_id,
            col(Suppression.channel) == channel,
            col(Suppression.address) == normalized_address(channel, address),
        )
    )
    return result.scalar_one_or_none()


async def unsuppress(session: AsyncSession, workspace_id: str, channel: str, address: str) -> bool:
    result = await session.execute(
        delete(Suppression).where(
            col(Suppression.workspace_id) == workspace_id,
            col(Suppression.channel) == channel,
            col(Suppression.address) == normalized_address(channel, address),
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def list_suppressions(
    session: AsyncSession, workspace_id: str, *, channel: str | None, after: int | None, limit: int
) -> list[Suppression]:
    """A workspace's suppressions in the order they were added, after the cursor (a row id)."""
    query = select(Suppression).where(col(Suppression.workspace_id) == workspace_id)
    if channel is not None:
        query = query.where(col(Suppression.channel) == channel)
    if after is not None:
        query = query.where(col(Suppression.id) > after)
    result = await session.execute(query.order_by(col(Suppression.id)).limit(limit))
    return list(result.scalars())
