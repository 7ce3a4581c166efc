"""Durations in journey definitions (`wait.duration`, `wait_for_event.timeout`): one spelling, one meaning."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

MAX_WAIT = timedelta(days=366)


def _check_wait(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be positive")
    if value > MAX_WAIT:
        raise ValueError("must be at most 366 days")
    return value


# ISO-8601 durations in years of 365 days, weeks, days, hours, minutes and seconds ("P3D", "PT30M", "P1DT12H",
# "P2W"; a stored definition writes 400 days as "P1Y35D"), or a JSON number of seconds. Nothing else: "3 days", "1d"
# or "01:00:00" (which pydantic alone would take) are refused, so a definition reads the same to every tool; so are
# months ("P1M"), whose length depends on the calendar and whose "M" is one letter from minutes ("PT1M").
_ISO_DURATION = re.compile(r"^-?P(?!$)(\d+Y)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


def _iso_duration(value: object) -> object:
    if isinstance(value, str) and not _ISO_DURATION.match(value):
        raise ValueError(
            f"{value!r} is not an ISO-8601 duration in days, hours, minutes or seconds "
            '(e.g. "P3D", "PT30M", "P1DT12H"), nor a number of seconds'
        )
    if isinstance(value, bool):
        raise ValueError("a duration is an ISO-8601 string or a number of seconds")
    return value


WaitDuration = Annotated[timedelta, BeforeValidator(_iso_duration), AfterValidator(_check_wait)]


def _check_offset(value: timedelta) -> timedelta:
    if abs(value) > MAX_WAIT:
        raise ValueError("must be at most 366 days either way")
    return value


# A signed duration in the same spelling ("-P3D": three days before, "PT2H": two hours after, "P0D": on the day):
# the offset of `wait.until_attribute` from the attribute's date.
OffsetDuration = Annotated[timedelta, BeforeValidator(_iso_duration), AfterValidator(_check_offset)]
# A duration in the same spelling, with no bounds of its own (a simulation's `until`, an event's offset).
IsoDuration = Annotated[timedelta, BeforeValidator(_iso_duration)]
