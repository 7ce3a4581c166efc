"""The deadline of each calendar form of `wait`, and the holiday calendar behind business days."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from domain.journeys.holiday_calendar import HolidayCalendar, calendar_problem, upcoming_holidays
from domain.journeys.steps.wait_forms import BusinessDays, UntilAttribute, UntilTime
from domain.journeys.wait_deadlines import attribute_instant, business_days, until_attribute, until_time

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # Thursday 10:00 in New York, 16:00 in Berlin


def test_until_time_says_when_in_the_contacts_zone() -> None:
    deadline = until_time(UntilTime(time="09:00", weekdays=["mon", "tue"]), NOW, NY)
    assert deadline.until == datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    assert deadline.reason == "until 09:00 on mon, tue in America/New_York: Mon 2026-12-07 09:00 EST"


def test_until_attribute_three_days_before_a_renewal_date_at_nine() -> None:
    form = UntilAttribute(attribute="renewal_date", offset="-P3D", time="09:00")
    deadline = until_attribute(form, NOW, NY, {"renewal_date": "2026-12-20"})
    assert deadline.until == datetime(2026, 12, 17, 14, 0, tzinfo=UTC)
    assert deadline.reason == "until renewal_date - 3 day(s) at 09:00: Thu 2026-12-17 09:00 EST"


def test_until_attribute_of_a_date_alone_is_local_midnight() -> None:
    form = UntilAttribute(attribute="renewal_date", offset="-P1D")
    deadline = until_attribute(form, NOW, BERLIN, {"renewal_date": "2026-12-20"})
    assert deadline.until == datetime(2026, 12, 18, 23, 0, tzinfo=UTC)  # 2026-12-19 00:00 CET


def test_until_attribute_of_a_datetime_plus_hours_is_elapsed_time() -> None:
    form = UntilAttribute(attribute="trial_ends_at", offset="PT2H")
    deadline = until_attribute(form, NOW, NY, {"trial_ends_at": "2026-12-10T12:00:00Z"})
    assert deadline.until == datetime(2026, 12, 10, 14, 0, tzinfo=UTC)


def test_whole_days_before_keep_the_wall_clock_across_dst() -> None:
    # 2026-03-10 09:00 EDT minus 3 days is 2026-03-07 09:00 EST: 72 hours of calendar, 73 of elapsed time
    form = UntilAttribute(attribute="renewal", offset="-P3D")
    start = datetime(2026, 3, 1, tzinfo=UTC)
    deadline = until_attribute(form, start, NY, {"renewal": "2026-03-10T09:00:00"})
    assert deadline.until == datetime(2026, 3, 7, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attributes", "why"),
    [
        ({}, "the contact has no 'renewal_date' attribute: not waiting"),
        ({"renewal_date": None}, "the contact has no 'renewal_date' attribute: not waiting"),
        ({"renewal_date": "next tuesday"}, "'renewal_date' is 'next tuesday', not a date or datetime: not waiting"),
        ({"renewal_date": 20261220}, "'renewal_date' is '20261220', not a date or datetime: not waiting"),
        ({"renewal_date": "2026-02-30"}, "'renewal_date' is '2026-02-30', not a date or datetime: not waiting"),
        (
            {"renewal_date": "2026-12-05"},
            "renewal_date - 3 day(s) at 09:00 (Wed 2026-12-02 09:00 EST) has passed: not waiting",
        ),
    ],
)
def test_an_attribute_that_gives_no_future_instant_goes_on_at_once(attributes: dict[str, object], why: str) -> None:
    form = UntilAttribute(attribute="renewal_date", offset="-P3D", time="09:00")
    deadline = until_attribute(form, NOW, NY, attributes)
    assert (deadline.until, deadline.reason) == (None, why)


def test_attribute_values_read_as_dates_or_datetimes() -> None:
    assert attribute_instant("2026-12-20", NY) == (date(2026, 12, 20), datetime(2026, 12, 20, 5, 0, tzinfo=UTC))
    assert attribute_instant("2026-12-20T10:00:00+01:00", NY) is not None
    assert attribute_instant("2026-12-20T10:00:00+01:00", NY)[1] == datetime(2026, 12, 20, 9, 0, tzinfo=UTC)  # type: ignore[index]
    assert attribute_instant(["2026-12-20"], NY) is None
    assert attribute_instant("x" * 1000, NY) is None


def test_business_days_skip_a_us_holiday_and_the_extra_dates() -> None:
    calendar = HolidayCalendar(country="US", extra_dates=[date(2026, 12, 24)])
    wednesday = datetime(2026, 12, 23, 15, 0, tzinfo=UTC)  # Wednesday 10:00 EST
    # Thu 24 (extra date), Fri 25 (Christmas), Sat, Sun: the first business day is Monday the 28th
    deadline = business_days(BusinessDays(days=1, time="09:00"), wednesday, NY, calendar)
    assert deadline.until == datetime(2026, 12, 28, 14, 0, tzinfo=UTC)
    assert deadline.reason == (
        "1 business day(s) in America/New_York, skipping weekends and US holidays and extra dates: "
        "Mon 2026-12-28 09:00 EST"
    )


def test_a_subdivision_has_its_own_holidays() -> None:
    # 2026-01-06 (Epiphany) is a public holiday in Bavaria, not in Berlin
    assert HolidayCalendar(country="DE", subdivision="BY").is_holiday(date(2026, 1, 6))
    assert not HolidayCalendar(country="DE", subdivision="BE").is_holiday(date(2026, 1, 6))
    assert not HolidayCalendar().is_holiday(date(2026, 12, 25))


def test_calendar_problems_are_named() -> None:
    assert calendar_problem("US", "CA") is None
    assert calendar_problem(None, None) is None
    assert "not a country code" in (calendar_problem("XX", None) or "")
    assert "not a subdivision of US" in (calendar_problem("US", "ZZ") or "")
    assert calendar_problem(None, "CA") == "a subdivision needs a country"


def test_a_calendar_the_package_no_longer_has_counts_as_no_holidays() -> None:
    assert not HolidayCalendar(country="XX").is_holiday(date(2026, 12, 25))
    assert HolidayCalendar(country="XX", extra_dates=[date(2026, 12, 25)]).is_holiday(date(2026, 12, 25))


def test_upcoming_holidays_are_named_and_sorted() -> None:
    calendar = HolidayCalendar(country="US", extra_dates=[date(2026, 12, 24)])
    upcoming = upcoming_holidays(calendar, date(2026, 12, 20), count=3)
    assert [day for day, _ in upcoming] == [date(2026, 12, 24), date(2026, 12, 25), date(2027, 1, 1)]
    assert upcoming[0][1] == "extra date"
    assert upcoming_holidays(HolidayCalendar(country="XX"), date(2026, 12, 20)) == []
