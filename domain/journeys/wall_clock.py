"""Local wall-clock times as instants: the time-of-day, weekday and business-day arithmetic of waits.

Pure and DST-correct through zoneinfo, with RFC 5545's rules for local times that do not map to exactly one
instant: a local time in a spring-forward gap is read with the offset in force before the gap, so it moves forward
by the gap's length (02:30 on the night New York springs forward is 03:30 EDT); a local time that occurs twice on a
fall-back night is its first occurrence (01:30 on that night is 01:30 EDT, not EST). Every result is an aware UTC
datetime.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKEND = frozenset({5, 6})  # date.weekday() of Saturday and Sunday


def parse_time_of_day(text: str) -> time:
    """ "09:00" -> time(9, 0). The caller has checked the spelling (domain/journeys/steps/wait_forms.py)."""
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def at_local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant the wall clock in `zone` shows `at` on `day` (gap: moved forward; repeated: the first)."""
    local = datetime.combine(day, at, tzinfo=zone)  # fold=0: the offset before a gap, the first of a repeat
    return local.astimezone(UTC)


def next_time_of_day(now: datetime, zone: ZoneInfo, at: time, weekdays: Iterable[Weekday] | None = None) -> datetime:
    """The first instant at or after `now` when the local clock shows `at`, on one of `weekdays` (None: any day)."""
    allowed = {WEEKDAYS.index(day) for day in weekdays} if weekdays is not None else set(range(7))
    if not allowed:
        raise ValueError("no weekday is allowed")
    today = now.astimezone(zone).date()
    for ahead in range(9):  # today may be past `at`; a week later is the same weekday again
        day = today + timedelta(days=ahead)
        if day.weekday() in allowed:
            candidate = at_local(day, at, zone)
            if candidate >= now:
                return candidate
    raise AssertionError("unreachable: every allowed weekday occurs within 8 days")


def is_business_day(day: date, is_holiday: Callable[[date], bool]) -> bool:
    return day.weekday() not in WEEKEND and not is_holiday(day)


MAX_SCAN_DAYS = 3 * 366  # a calendar that makes every day a holiday must not loop for ever


def add_business_days(
    now: datetime, zone: ZoneInfo, days: int, is_holiday: Callable[[date], bool], at: time | None = None
) -> datetime:
    """`days` business days after `now` in `zone` (weekends and holidays skipped), at the local time `at`, or at
    `now`'s local time of day. Friday 15:00 + 2 business days is Tuesday 15:00; from a Saturday, 1 is Monday."""
    if days < 1:
        raise ValueError("days must be at least 1")
    local = now.astimezone(zone)
    day = local.date()
    counted = 0
    for _ in range(MAX_SCAN_DAYS):
        day += timedelta(days=1)
        if is_business_day(day, is_holiday):
            counted += 1
            if counted == days:
                return at_local(day, at if at is not None else local.time().replace(tzinfo=None), zone)
    raise ValueError(f"no {days} business days within {MAX_SCAN_DAYS} days: the holiday calendar leaves none")
