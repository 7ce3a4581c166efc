"""The body of POST /v1/journeys/{id}/simulate; the answer is domain.journeys.simulation.SimulationResult."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, TypeAdapter, ValidationError, field_validator

from api.schemas.base import JsonAttributes, SafeInput
from domain.journeys.durations import IsoDuration
from domain.journeys.simulation import DEFAULT_UNTIL, MAX_EVENTS, MAX_UNTIL

_DURATION: TypeAdapter[timedelta] = TypeAdapter(IsoDuration)
_INSTANT: TypeAdapter[datetime] = TypeAdapter(datetime)


def offset_of(at: str | float, now: datetime) -> timedelta:
    """ "+PT2H" / "PT2H" / 7200 (after the contact entered) or an ISO-8601 instant (from now). ValueError else."""
    if isinstance(at, int | float):
        return _DURATION.validate_python(at)
    text = at.removeprefix("+")
    if text.startswith("P"):
        try:
            return _DURATION.validate_python(text)
        except ValidationError as exc:
            raise ValueError(exc.errors()[0]["msg"]) from None
    try:
        instant = _INSTANT.validate_python(at)
    except ValidationError:
        raise ValueError(f'{at!r} is neither an offset ("+PT2H") nor an ISO-8601 instant') from None
    return (instant if instant.tzinfo else instant.replace(tzinfo=UTC)) - now


class SimulateContact(SafeInput):
    attributes: JsonAttributes = Field(default_factory=dict, description="The synthetic contact's attributes.")
    timezone: str | None = Field(None, max_length=64, description="IANA time zone, e.g. Europe/Berlin.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}") from None
        return value


class SimulateEvent(SafeInput):
    at: str | float = Field(
        description='When: "+PT2H" (an ISO-8601 duration after the contact entered) or an ISO-8601 instant.'
    )
    name: str = Field(min_length=1, max_length=255)
    properties: JsonAttributes = Field(default_factory=dict)


class JourneySimulate(SafeInput):
    version: int | None = Field(None, ge=1, le=2**31 - 1, description="Default: the published one, else the draft.")
    contact: SimulateContact = Field(default_factory=SimulateContact)
    events: list[SimulateEvent] = Field(default_factory=list, max_length=MAX_EVENTS)
    until: IsoDuration = Field(DEFAULT_UNTIL, description='How much journey time to simulate (at most "P400D").')
    trigger_properties: JsonAttributes = Field(default_factory=dict, description="Of the event that enters it.")

    @field_validator("until")
    @classmethod
    def _bounded(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0) or value > MAX_UNTIL:
            raise ValueError("until must be positive and at most 400 days")
        return value
