"""Score threshold alerts: open until they expire (closed by the expiry workflow), acknowledged by a user."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models_scoring import ScoreAlert

AlertState = Literal["active", "expired", "all"]


async def list_alerts(
    session: AsyncSession, workspace_id: str, state: AlertState, now: datetime, after: int | None, limit: int
) -> list[ScoreAlert]:
    """Newest first. Active: not closed and not past expiry; expired: closed, or past expiry and not closed yet
    (the expiry workflow runs every few minutes)."""
    query = select(ScoreAlert).where(col(ScoreAlert.workspace_id) == workspace_id)
    if state == "active":
        query = query.where(col(ScoreAlert.closed_at).is_(None), col(ScoreAlert.expires_at) > now)
    elif state == "expired":
        query = query.where((col(ScoreAlert.closed_at).is_not(None)) | (col(ScoreAlert.expires_at) <= now))
    if after is not None:
        query = query.where(col(ScoreAlert.id) < after)
    return list((await session.execute(query.order_by(col(ScoreAlert.id).desc()).limit(limit))).scalars())


async def get_alert(session: AsyncSession, workspace_id: str, alert_id: int) -> ScoreAlert | None:
    row = await session.get(ScoreAlert, alert_id)
    return row if row is not None and row.workspace_id == workspace_id else None


async def acknowledge(session: AsyncSession, row: ScoreAlert, now: datetime) -> ScoreAlert:
    if row.acknowledged_at is None:
        row.acknowledged_at = now
        await session.flush()
    return row


async def close_expired(session: AsyncSession, now: datetime) -> int:
    """Close every alert past its expiry (all workspaces, one statement through the (closed_at, expires_at) index)."""
    result = await session.execute(
        update(ScoreAlert)
        .where(col(ScoreAlert.closed_at).is_(None), col(ScoreAlert.expires_at) <= now)
        .values(closed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def count_open(session: AsyncSession, workspace_id: str) -> int:
    query = select(func.count()).where(
        col(ScoreAlert.workspace_id) == workspace_id, col(ScoreAlert.closed_at).is_(None)
    )
    return int((await session.execute(query)).scalar_one())
