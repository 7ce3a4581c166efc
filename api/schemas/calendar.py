"""The workspace calendar resource: its time zone and holiday calendar (GET/PUT /v1/workspace/calendar)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from api.schemas.base import SafeInput
from domain.journeys.holiday_calendar import MAX_EXTRA_DATES


class WorkspaceCalendarUpdate(SafeInput):
    """Replaces the whole resource: a field left out is cleared."""

    timezone: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None, description="IANA zone for contacts without one, e.g. Europe/Berlin; null: UTC"
    )
    country: Annotated[str, StringConstraints(min_length=2, max_length=3)] | None = Field(
        None, description="ISO 3166-1 alpha-2 country whose public holidays business-day waits skip, e.g. US"
    )
    subdivision: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = Field(
        None, description="A subdivision of the country with its own holidays, e.g. CA (California), BY (Bavaria)"
    )
    extra_dates: list[date] = Field(
        default_factory=list, max_length=MAX_EXTRA_DATES, description="More days off, e.g. 2026-12-24"
    )


class Holiday(BaseModel):
    date: date
    name: str


class WorkspaceCalendarPublic(BaseModel):
    timezone: str | None
    country: str | None
    subdivision: str | None
    extra_dates: list[date]
    upcoming: list[Holiday] = Field(description="The next holidays business-day waits skip (up to 10)")
