"""The forms of a `wait` step besides a plain duration: until a local time of day (optionally on given weekdays),
until a date attribute of the contact plus an offset, or a number of business days.

Each is placed in the contact's time zone (its own, else the workspace's: domain/journeys/local_time.py); the
deadline is computed once as the step starts (domain/journeys/wait_deadlines.py). What cannot ever be waited for
is refused here, so publishing answers 422 naming the node: no weekday, a time that is not HH:MM, an unknown
weekday, an offset that is not an ISO-8601 duration, a business-day count outside 1..365.
"""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from typing import Annotated

from pydantic import Field, StringConstraints

from domain.journeys.conditions import Strict
from domain.journeys.durations import OffsetDuration
from domain.journeys.wall_clock import Weekday, parse_time_of_day

# 24-hour "HH:MM", 00:00 to 23:59.
TimeOfDay = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
MAX_BUSINESS_DAYS = 365


class UntilTime(Strict):
    """The next time the contact's local clock shows `time`, on one of `weekdays` (absent: any day)."""

    time: TimeOfDay
    weekdays: list[Weekday] | None = Field(None, min_length=1, max_length=7)

    @property
    def at(self) -> dt.time:
        return parse_time_of_day(self.time)


class UntilAttribute(Strict):
    """The contact's date or datetime `attribute` plus `offset` ("-P3D": three days before), at the local `time`
    when given. A date alone is midnight in the contact's zone."""

    attribute: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    offset: OffsetDuration = timedelta(0)
    time: TimeOfDay | None = None

    @property
    def at(self) -> dt.time | None:
        return parse_time_of_day(self.time) if self.time is not None else None


class BusinessDays(Strict):
    """`days` business days later in the contact's zone (weekends and the workspace's holidays skipped), at the
    local `time` when given, else at the local time the step started."""

    days: int = Field(ge=1, le=MAX_BUSINESS_DAYS)
    time: TimeOfDay | None = None

    @property
    def at(self) -> dt.time | None:
        return parse_time_of_day(self.time) if self.time is not None else None
