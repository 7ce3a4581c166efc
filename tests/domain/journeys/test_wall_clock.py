"""Local times as instants, across the DST nights of New York and Berlin, and business-day arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from domain.journeys.wall_clock import add_business_days, at_local, next_time_of_day

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def no_holidays(day: date) -> bool:
    return False


@pytest.mark.parametrize(
    ("zone", "day", "at", "expected"),
    [
        # ordinary days: EST is UTC-5, EDT UTC-4; CET UTC+1, CEST UTC+2
        (NY, date(2026, 1, 15), time(9, 0), utc(2026, 1, 15, 14, 0)),
        (NY, date(2026, 7, 15), time(9, 0), utc(2026, 7, 15, 13, 0)),
        (BERLIN, date(2026, 1, 15), time(9, 0), utc(2026, 1, 15, 8, 0)),
        # spring forward: 02:30 does not exist; it moves forward by the gap (03:30 EDT / 03:30 CEST)
        (NY, date(2026, 3, 8), time(2, 30), utc(2026, 3, 8, 7, 30)),
        (BERLIN, date(2026, 3, 29), time(2, 30), utc(2026, 3, 29, 1, 30)),
        # fall back: 01:30 (New York) and 02:30 (Berlin) happen twice; the first occurrence counts
        (NY, date(2026, 11, 1), time(1, 30), utc(2026, 11, 1, 5, 30)),
        (BERLIN, date(2026, 10, 25), time(2, 30), utc(2026, 10, 25, 0, 30)),
        # the same wall time the day after each change has the new offset
        (NY, date(2026, 3, 9), time(9, 0), utc(2026, 3, 9, 13, 0)),
        (NY, date(2026, 11, 2), time(9, 0), utc(2026, 11, 2, 14, 0)),
    ],
)
def test_a_local_time_on_a_day_is_one_instant(zone: ZoneInfo, day: date, at: time, expected: datetime) -> None:
    assert at_local(day, at, zone) == expected


def test_the_spring_forward_gap_lands_on_the_first_valid_hour_local() -> None:
    got = at_local(date(2026, 3, 8), time(2, 30), NY).astimezone(NY)
    assert (got.hour, got.minute, got.utcoffset()) == (3, 30, NY.utcoffset(datetime(2026, 3, 9)))


def test_next_time_of_day_is_today_when_still_ahead_else_tomorrow() -> None:
    # 08:00 EST: 09:00 is still ahead today
    assert next_time_of_day(utc(2026, 1, 15, 13, 0), NY, time(9, 0)) == utc(2026, 1, 15, 14, 0)
    # 10:00 EST: tomorrow
    assert next_time_of_day(utc(2026, 1, 15, 15, 0), NY, time(9, 0)) == utc(2026, 1, 16, 14, 0)
    # exactly 09:00: now
    assert next_time_of_day(utc(2026, 1, 15, 14, 0), NY, time(9, 0)) == utc(2026, 1, 15, 14, 0)


def test_next_time_of_day_across_the_spring_forward_night() -> None:
    # Saturday 2026-03-07 10:00 EST; the next 09:00 is Sunday, already EDT: 13:00 UTC, 23 hours later
    start = utc(2026, 3, 7, 15, 0)
    got = next_time_of_day(start, NY, time(9, 0))
    assert got == utc(2026, 3, 8, 13, 0)
    assert (got - start).total_seconds() == 22 * 3600


def test_next_time_of_day_across_the_fall_back_night_in_berlin() -> None:
    # Saturday 2026-10-24 10:00 CEST; the next 09:00 is Sunday in CET: 08:00 UTC, 23 + 2 = 25 hours of clock
    start = utc(2026, 10, 24, 8, 0)
    assert next_time_of_day(start, BERLIN, time(9, 0)) == utc(2026, 10, 25, 8, 0)


def test_weekdays_pick_the_next_allowed_day() -> None:
    friday_noon = utc(2026, 1, 16, 17, 0)  # Friday 12:00 EST
    assert next_time_of_day(friday_noon, NY, time(9, 0), ["mon"]) == utc(2026, 1, 19, 14, 0)
    assert next_time_of_day(friday_noon, NY, time(13, 0), ["fri"]) == utc(2026, 1, 16, 18, 0)
    # Friday 09:00 has passed: a week later
    assert next_time_of_day(friday_noon, NY, time(9, 0), ["fri"]) == utc(2026, 1, 23, 14, 0)
    with pytest.raises(ValueError, match="no weekday"):
        next_time_of_day(friday_noon, NY, time(9, 0), [])


def test_the_day_is_the_contacts_local_day() -> None:
    # 2026-01-16 03:00 UTC is still Thursday evening in New York (22:00) but Friday morning in Berlin (04:00)
    instant = utc(2026, 1, 16, 3, 0)
    assert next_time_of_day(instant, NY, time(23, 0), ["thu"]) == utc(2026, 1, 16, 4, 0)
    assert next_time_of_day(instant, BERLIN, time(9, 0), ["fri"]) == utc(2026, 1, 16, 8, 0)


def test_business_days_skip_the_weekend_and_keep_the_local_time() -> None:
    friday_3pm = utc(2026, 1, 16, 20, 0)  # Friday 15:00 EST
    assert add_business_days(friday_3pm, NY, 1, no_holidays) == utc(2026, 1, 19, 20, 0)  # Monday 15:00
    assert add_business_days(friday_3pm, NY, 2, no_holidays) == utc(2026, 1, 20, 20, 0)  # Tuesday
    assert add_business_days(friday_3pm, NY, 5, no_holidays) == utc(2026, 1, 23, 20, 0)  # next Friday
    assert add_business_days(friday_3pm, NY, 1, no_holidays, time(9, 0)) == utc(2026, 1, 19, 14, 0)


def test_business_days_from_a_weekend_start_on_monday() -> None:
    saturday = utc(2026, 1, 17, 15, 0)
    assert add_business_days(saturday, NY, 1, no_holidays, time(9, 0)) == utc(2026, 1, 19, 14, 0)


def test_business_days_skip_holidays() -> None:
    mlk_day = date(2026, 1, 19)
    friday_3pm = utc(2026, 1, 16, 20, 0)
    assert add_business_days(friday_3pm, NY, 1, lambda day: day == mlk_day) == utc(2026, 1, 20, 20, 0)


def test_business_days_across_the_dst_change_keep_the_wall_clock() -> None:
    # Friday 2026-03-06 09:00 EST + 1 business day = Monday 09:00 EDT (one hour less elapsed)
    assert add_business_days(utc(2026, 3, 6, 14, 0), NY, 1, no_holidays) == utc(2026, 3, 9, 13, 0)
    # Friday 2026-10-23 09:00 CEST + 1 = Monday 09:00 CET
    assert add_business_days(utc(2026, 10, 23, 7, 0), BERLIN, 1, no_holidays) == utc(2026, 10, 26, 8, 0)


def test_a_calendar_without_business_days_is_an_error_not_a_hang() -> None:
    with pytest.raises(ValueError, match="business days"):
        add_business_days(utc(2026, 1, 16, 20, 0), NY, 1, lambda day: True)
    with pytest.raises(ValueError, match="at least 1"):
        add_business_days(utc(2026, 1, 16, 20, 0), NY, 0, no_holidays)
