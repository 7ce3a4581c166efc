"""The suppression list: addresses a workspace must not send to on a channel."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.clock import utcnow
from store.models import Contact, Suppression
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
    """Add entries; an address already suppressed keeps its first reason. Returns how many were new.

    One round trip for a batch (a webhook may carry hundreds of bounces): executemany, which SQLAlchemy sends as
    multi-row INSERTs ("insertmanyvalues"), the new rows counted from RETURNING, since psycopg reports rowcount -1
    for an ON CONFLICT insert."""
    now = utcnow()
    rows = [
        {
            "workspace_id": workspace_id,
            "channel": entry.channel,
            "address": normalized_address(entry.channel, entry.address),
            "reason": entry.reason,
            "source": entry.source,
            "created_at": now,
        }
        for entry in entries
    ]
    if not rows:
        return 0
    table: Any = Suppression.__table__  # type: ignore[attr-defined]
    statement = insert_ignoring(session.get_bind().dialect.name, table, "workspace_id", "channel", "address")
    result = await session.execute(statement.returning(table.c.id), rows)
    return len(result.all())


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


async def contact_with_email_suppression(
    session: AsyncSession, workspace_id: str, contact_id: str
) -> tuple[Contact | None, str | None]:
    """The contact and, when its email address is suppressed, why: one query on the send path."""
    query = (
        select(Contact, col(Suppression.reason))
        .outerjoin(
            Suppression,
            and_(
                col(Suppression.workspace_id) == col(Contact.workspace_id),
                col(Suppression.channel) == "email",
                col(Suppression.address) == func.lower(func.trim(col(Contact.email))),
            ),
        )
        .where(col(Contact.id) == contact_id, col(Contact.workspace_id) == workspace_id)
    )
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row is not None else (None, None)
