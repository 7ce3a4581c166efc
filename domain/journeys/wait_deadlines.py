"""When a `wait` step in one of its calendar forms ends: one pure function of the step, the instant it started,
the contact's zone, its attributes and the workspace's holiday calendar (the activity computing it loads those:
activities/journeys/waits.py). The answer is an instant and the reason in words (the explain timeline shows it);
no instant means the step goes on at once (a missing, unparseable or past attribute), and the reason says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.journeys.holiday_calendar import HolidayCalendar
from domain.journeys.steps.core import WaitStep
from domain.journeys.steps.wait_forms import BusinessDays, UntilAttribute, UntilTime
from domain.journeys.wall_clock import add_business_days, at_local, next_time_of_day


@dataclass(frozen=True)
class WaitDeadline:
    until: datetime | None  # UTC; None: do not wait
    reason: str


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")


def until_time(form: UntilTime, now: datetime, zone: ZoneInfo) -> WaitDeadline:
    until = next_time_of_day(now, zone, form.at, form.weekdays)
    days = f" on {', '.join(form.weekdays)}" if form.weekdays else ""
    return WaitDeadline(until, f"until {form.time}{days} in {zone.key}: {_local(until, zone)}")


def business_days(form: BusinessDays, now: datetime, zone: ZoneInfo, calendar: HolidayCalendar) -> WaitDeadline:
    until = add_business_days(now, zone, form.days, calendar.is_holiday, form.at)
    where = (
        f"{calendar.country}{'-' + calendar.subdivision if calendar.subdivision else ''}" if calendar.country else ""
    )
    skipped = (
        "weekends" + (f" and {where} holidays" if where else "") + (" and extra dates" if calendar.extra_dates else "")
    )
    return WaitDeadline(until, f"{form.days} business day(s) in {zone.key}, skipping {skipped}: {_local(until, zone)}")


def attribute_instant(value: Any, zone: ZoneInfo) -> tuple[date | datetime, datetime] | None:
    """A date ("2026-12-20": midnight in `zone`) or an ISO-8601 datetime ("2026-12-20T10:00:00Z"; without an
    offset: local to `zone`) as (what it was, the instant); None when the value is neither."""
    if isinstance(value, datetime | date):
        parsed: date | datetime = value
    elif isinstance(value, str) and 10 <= len(value) <= 40:
        text = value.strip()
        try:
            parsed = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if isinstance(parsed, datetime):
        local = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)
        return parsed, local.astimezone(UTC)
    return parsed, at_local(parsed, datetime.min.time(), zone)


def _shifted(instant: datetime, offset: timedelta, zone: ZoneInfo) -> datetime:
    """Whole days move the local calendar date (3 days before 09:00 is 09:00, across a DST change too); any other
    offset is elapsed time."""
    if offset % timedelta(days=1):
        return instant + offset
    local = instant.astimezone(zone)
    return at_local(local.date() + offset, local.time().replace(tzinfo=None, fold=local.fold), zone)


def until_attribute(form: UntilAttribute, now: datetime, zone: ZoneInfo, attributes: dict[str, Any]) -> WaitDeadline:
    name = form.attribute
    if name not in attributes or attributes[name] is None:
        return WaitDeadline(None, f"the contact has no {name!r} attribute: not waiting")
    value = attributes[name]
    found = attribute_instant(value, zone)
    if found is None:
        return WaitDeadline(None, f"{name!r} is {str(value)[:60]!r}, not a date or datetime: not waiting")
    _, instant = found
    until = _shifted(instant, form.offset, zone)
    if form.at is not None:
        until = at_local(until.astimezone(zone).date(), form.at, zone)
    described = f"{name} {_offset(form.offset)}{' at ' + form.time if form.time else ''}"
    if until <= now:
        return WaitDeadline(None, f"{described} ({_local(until, zone)}) has passed: not waiting")
    return WaitDeadline(until, f"until {described}: {_local(until, zone)}")


def _offset(offset: timedelta) -> str:
    if not offset:
        return "(on the day)"
    sign = "-" if offset < timedelta(0) else "+"
    size = abs(offset)
    if not size % timedelta(days=1):
        return f"{sign} {size.days} day(s)"
    return f"{sign} {size}"


def wait_deadline(
    step: WaitStep, now: datetime, zone: ZoneInfo, attributes: dict[str, Any], calendar: HolidayCalendar
) -> WaitDeadline:
    """The deadline of a wait in a calendar form (a plain duration needs none: ValueError)."""
    if step.until is not None:
        return until_time(step.until, now, zone)
    if step.until_attribute is not None:
        return until_attribute(step.until_attribute, now, zone, attributes)
    if step.business_days is not None:
        try:
            return business_days(step.business_days, now, zone, calendar)
        except ValueError as err:  # a calendar that leaves no business day
            return WaitDeadline(None, f"{err}: not waiting")
    raise ValueError(f"step {step.id!r} waits a plain duration")
