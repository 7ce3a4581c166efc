"""A workspace's holiday calendar: a country's public holidays (optionally a subdivision's: a US state, a German
Land), from the `holidays` package, plus extra dates of its own (a company shutdown, Christmas Eve).

Business-day waits skip these days (and weekends: domain/journeys/wall_clock.py). The `holidays` package is pure
computation (rules, no data files, no network), so it is domain code like zoneinfo."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays
from pydantic import BaseModel, Field

MAX_EXTRA_DATES = 366


class HolidayCalendar(BaseModel):
    """`country` an ISO 3166-1 alpha-2 code the `holidays` package knows ("US"), `subdivision` one of its
    subdivisions ("CA"); None: no public holidays, only `extra_dates`."""

    country: str | None = None
    subdivision: str | None = None
    extra_dates: list[date] = Field(default_factory=list, max_length=MAX_EXTRA_DATES)

    def is_holiday(self, day: date) -> bool:
        if day in self.extra_dates:
            return True
        if self.country is None:
            return False
        return day in _public_holidays(self.country, self.subdivision, day.year)


@lru_cache(maxsize=256)
def _public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """A calendar stored before a `holidays` release dropped it counts as none, rather than failing waits."""
    try:
        return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year).keys())
    except NotImplementedError:
        return frozenset()


def calendar_problem(country: str | None, subdivision: str | None) -> str | None:
    """Why (country, subdivision) is not a calendar the `holidays` package has; None when it is."""
    if country is None:
        return "a subdivision needs a country" if subdivision is not None else None
    supported = holidays.list_supported_countries()
    if country not in supported:
        return f"{country!r} is not a country code with a holiday calendar (ISO 3166-1 alpha-2, e.g. 'US')"
    if subdivision is not None and subdivision not in supported[country]:
        choices = ", ".join(supported[country][:12])
        return f"{subdivision!r} is not a subdivision of {country} with a holiday calendar ({choices}...)"
    return None


def upcoming_holidays(calendar: HolidayCalendar, start: date, count: int = 10) -> list[tuple[date, str]]:
    """The next `count` holidays from `start` on (within two years), with their names: what a designer checks the
    calendar by."""
    found: dict[date, str] = {day: "extra date" for day in calendar.extra_dates if day >= start}
    if calendar.country is not None:
        years = [start.year, start.year + 1, start.year + 2]
        named: dict[date, str] = {}
        try:
            named = dict(holidays.country_holidays(calendar.country, subdiv=calendar.subdivision, years=years))
        except NotImplementedError:  # as _public_holidays: a calendar the package dropped has none
            pass
        found.update({day: name for day, name in named.items() if day >= start and day not in found})
    return sorted(found.items())[:count]
