"""The workspace holiday calendar (migration 0017): the public holidays of a country (and subdivision) from
the `holidays` package plus extra dates of the workspace's own. Business-day waits skip these days. One row per
workspace at most; no row: no holidays (weekends are still skipped). The workspace's time zone stays on the
workspace row (store/models.py Workspace.timezone); the calendar API shows both as one resource."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from domain.clock import utcnow
from store.types import UTCDateTime


class WorkspaceCalendar(SQLModel, table=True):
    __tablename__ = "workspace_calendar"
    workspace_id: str = Field(primary_key=True, foreign_key="workspace.id", max_length=40)
    country: str | None = Field(default=None, max_length=8)
    subdivision: str | None = Field(default=None, max_length=32)
    # ISO dates ("2026-12-24"), sorted
    extra_dates: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
