"""Reading and writing a workspace's calendar: its time zone (on the workspace row) and its holiday calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import utcnow
from domain.journeys.holiday_calendar import HolidayCalendar
from store.models import Workspace
from store.models_calendar import WorkspaceCalendar


@dataclass(frozen=True)
class WorkspaceTime:
    timezone: str | None
    calendar: HolidayCalendar


async def workspace_time(session: AsyncSession, workspace_id: str) -> WorkspaceTime | None:
    """None: no such workspace."""
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        return None
    row = await session.get(WorkspaceCalendar, workspace_id)
    calendar = (
        HolidayCalendar(
            country=row.country,
            subdivision=row.subdivision,
            extra_dates=[date.fromisoformat(day) for day in row.extra_dates],
        )
        if row is not None
        else HolidayCalendar()
    )
    return WorkspaceTime(workspace.timezone, calendar)


async def set_workspace_time(session: AsyncSession, workspace_id: str, update: WorkspaceTime) -> WorkspaceTime:
    """Replace the workspace's time zone and holiday calendar (validated by the caller); commits."""
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        raise LookupError(workspace_id)
    workspace.timezone = update.timezone
    row = await session.get(WorkspaceCalendar, workspace_id)
    if row is None:
        row = WorkspaceCalendar(workspace_id=workspace_id)
        session.add(row)
    row.country = update.calendar.country
    row.subdivision = update.calendar.subdivision
    row.extra_dates = sorted({day.isoformat() for day in update.calendar.extra_dates})
    row.updated_at = utcnow()
    await session.commit()
    return update
