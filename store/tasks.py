"""Journey tasks as rows: created idempotently by the task step, listed and completed by the tasks API, escalated
and expired by the step. Status changes are compare-and-set UPDATEs on `status = 'open'`, so a completion racing
the due time (or a second completion) changes the row once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from domain.tasks.model import TaskStatus
from store.models_tasks import JourneyTask
from store.queries import insert_ignoring

TASK: Table = SQLModel.metadata.tables[JourneyTask.__tablename__]


@dataclass(frozen=True, slots=True)
class TaskFilter:
    workspace_id: str
    assignee: str | None = None
    status: str | None = None
    journey_id: str | None = None
    contact_id: str | None = None


async def create_task(session: AsyncSession, task: JourneyTask) -> tuple[JourneyTask, bool]:
    """Insert the task unless its idempotency key has one; the row that stands, and whether it is new. The caller
    commits."""
    values = task.model_dump()
    statement = insert_ignoring(session.get_bind().dialect.name, TASK, "idempotency_key").values(**values)
    inserted = (await session.execute(statement.returning(TASK.c.id))).first() is not None
    row = (
        await session.execute(select(JourneyTask).where(col(JourneyTask.idempotency_key) == task.idempotency_key))
    ).scalar_one()
    return row, inserted


async def get_task(session: AsyncSession, workspace_id: str, task_id: str) -> JourneyTask | None:
    row = await session.get(JourneyTask, task_id)
    return row if row is not None and row.workspace_id == workspace_id else None


async def list_tasks(session: AsyncSession, flt: TaskFilter, *, after: str | None, limit: int) -> list[JourneyTask]:
    """Tasks in id order (ids are time-ordered: oldest first) after the cursor."""
    t = JourneyTask
    query = select(t).where(col(t.workspace_id) == flt.workspace_id)
    for column, value in (
        (t.assignee, flt.assignee), (t.status, flt.status), (t.journey_id, flt.journey_id),
        (t.contact_id, flt.contact_id),
    ):  # fmt: skip
        if value is not None:
            query = query.where(col(column) == value)
    if after:
        query = query.where(col(t.id) > after)
    return list((await session.execute(query.order_by(col(t.id)).limit(limit))).scalars())


async def change_open(session: AsyncSession, task_id: str, now: datetime, **values: Any) -> bool:
    """Set `values` on the task if it is still open; whether it was. The caller commits."""
    result = await session.execute(
        update(TASK)
        .where(TASK.c.id == task_id, TASK.c.status == TaskStatus.OPEN.value)
        .values(updated_at=now, **values)
        .returning(TASK.c.id)
    )
    return result.first() is not None


async def refreshed(session: AsyncSession, task_ids: Sequence[str]) -> list[JourneyTask]:
    rows = await session.execute(
        select(JourneyTask).where(col(JourneyTask.id).in_(list(task_ids))).execution_options(populate_existing=True)
    )
    return list(rows.scalars())
