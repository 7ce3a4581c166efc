"""Query shapes every repository uses: keyset pages and insert-or-get under a unique constraint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

Row = TypeVar("Row", bound=SQLModel)


async def workspace_page(
    session: AsyncSession, model: type[Row], workspace_id: str, *, after: str | None, limit: int
) -> list[Row]:
    """Rows of a workspace in id order after the cursor; ids are time-ordered, so the last id is the next cursor."""
    table: Any = model
    query = select(model).where(col(table.workspace_id) == workspace_id)
    if after:
        query = query.where(col(table.id) > after)
    result = await session.execute(query.order_by(col(table.id)).limit(limit))
    return list(result.scalars())


async def insert_or_get(session: AsyncSession, row: Row, existing: Callable[[], Awaitable[Row | None]]) -> Row:
    """Insert `row`, or, when a unique constraint says it is already there, return the stored one."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
        return row
    except IntegrityError:
        found = await existing()
        if found is None:
            raise
        return found
