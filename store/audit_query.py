"""Reading the audit log: filtered pages (keyset on the sequence number) and a streamed walk for exports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.audit import ENTRY


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _query(workspace_id: str, where: AuditFilter) -> Select[Any]:
    query = select(ENTRY).where(ENTRY.c.workspace_id == workspace_id)
    if where.actor is not None:
        query = query.where(ENTRY.c.actor == where.actor)
    if where.target_type is not None:
        query = query.where(ENTRY.c.target_type == where.target_type)
    if where.target_id is not None:
        query = query.where(ENTRY.c.target_id == where.target_id)
    if where.since is not None:
        query = query.where(ENTRY.c.created_at >= where.since)
    if where.until is not None:
        query = query.where(ENTRY.c.created_at < where.until)
    return query


async def list_audit(
    session: AsyncSession, workspace_id: str, where: AuditFilter, *, after: int | None, limit: int
) -> list[Any]:
    """Entries in sequence order after `after` (a sequence number), at most `limit`."""
    query = _query(workspace_id, where)
    if after is not None:
        query = query.where(ENTRY.c.seq > after)
    return list((await session.execute(query.order_by(ENTRY.c.seq).limit(limit))).all())


async def stream_audit(
    session: AsyncSession, workspace_id: str, where: AuditFilter, batch: int = 1000
) -> AsyncIterator[Any]:
    result = await session.stream(_query(workspace_id, where).order_by(ENTRY.c.seq).execution_options(yield_per=batch))
    async for row in result:
        yield row
