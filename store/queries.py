"""Query shapes every repository uses: keyset pages and insert-or-get under a unique constraint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
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


def insert_ignoring(dialect: str, table: Table, *key: str) -> Any:
    """INSERT .. ON CONFLICT (key) DO NOTHING, in the dialect's construct."""
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return builder(table).on_conflict_do_nothing(index_elements=list(key))


async def insert_if_absent(
    session: AsyncSession, table: Table, values: dict[str, Any], *, key: tuple[str, ...]
) -> bool:
    """INSERT one row unless the unique `key` already holds one; True when it went in. RETURNING tells, since
    psycopg reports rowcount -1 for INSERT .. ON CONFLICT."""
    statement = insert_ignoring(session.get_bind().dialect.name, table, *key).values(**values)
    result = await session.execute(statement.returning(*table.primary_key.columns))
    return result.first() is not None


async def insert_or_get(
    session: AsyncSession, row: Row, existing: Callable[[], Awaitable[Row | None]], *, key: tuple[str, ...]
) -> Row:
    """Insert `row`, or, when the unique `key` says it is already there, return the stored one.

    One statement (INSERT .. ON CONFLICT DO NOTHING) rather than a savepoint around an ORM flush: this runs on
    every journey send and enrollment, where round trips are the cost. The returned `row` is the given object
    when it was inserted (callers test `is`), and is not attached to the session."""
    table: Table = row.__table__  # type: ignore[attr-defined]
    values = {column.name: getattr(row, column.name) for column in table.columns}
    if await insert_if_absent(session, table, {k: v for k, v in values.items() if v is not None}, key=key):
        return row
    found = await existing()
    if found is None:
        raise LookupError(f"{table.name}: conflict on {key} but no row found")
    return found
