"""The workspace calendar: the time zone local-time waits and quiet hours use for contacts without one, and the
holiday calendar business-day waits skip. One resource, read and replaced whole."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Session, SettingsRead, SettingsWrite
from api.errors import NotFound, Unprocessable
from api.schemas.calendar import Holiday, WorkspaceCalendarPublic, WorkspaceCalendarUpdate
from domain.clock import utcnow
from domain.contacts.traits import is_valid_timezone
from domain.journeys.holiday_calendar import HolidayCalendar, calendar_problem, upcoming_holidays
from domain.journeys.local_time import contact_zone
from store.calendars import WorkspaceTime, set_workspace_time, workspace_time

router = APIRouter(prefix="/v1/workspace/calendar", tags=["workspace"])


def _public(value: WorkspaceTime) -> WorkspaceCalendarPublic:
    today = utcnow().astimezone(contact_zone(None, value.timezone)).date()
    calendar = value.calendar
    return WorkspaceCalendarPublic(
        timezone=value.timezone,
        country=calendar.country,
        subdivision=calendar.subdivision,
        extra_dates=sorted(set(calendar.extra_dates)),
        upcoming=[Holiday(date=day, name=name) for day, name in upcoming_holidays(calendar, today)],
    )


@router.get("")
async def get_calendar(principal: SettingsRead, session: Session) -> WorkspaceCalendarPublic:
    found = await workspace_time(session, principal.workspace_id)
    if found is None:
        raise NotFound("the workspace does not exist")
    return _public(found)


@router.put("")
async def put_calendar(
    body: WorkspaceCalendarUpdate, principal: SettingsWrite, session: Session
) -> WorkspaceCalendarPublic:
    if body.timezone is not None and not is_valid_timezone(body.timezone):
        raise Unprocessable(
            f"unknown time zone {body.timezone!r} (an IANA name, e.g. Europe/Berlin)", code="unknown_timezone"
        )
    country = body.country.upper() if body.country is not None else None
    subdivision = body.subdivision
    if subdivision is not None and calendar_problem(country, subdivision) is not None:
        subdivision = subdivision.upper()  # "ca" for "CA"; some subdivisions are names ("Flemish"), kept as given
    problem = calendar_problem(country, subdivision)
    if problem is not None:
        raise Unprocessable(problem, code="unknown_holiday_calendar")
    calendar = HolidayCalendar(country=country, subdivision=subdivision, extra_dates=sorted(set(body.extra_dates)))
    try:
        saved = await set_workspace_time(session, principal.workspace_id, WorkspaceTime(body.timezone, calendar))
    except LookupError:
        raise NotFound("the workspace does not exist") from None
    return _public(saved)
