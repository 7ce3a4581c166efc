"""Field rules for Segment messages: ids, names, objects, timestamps and identify traits.

Everything accepted here can be stored as is: strings bound for a column have no NUL and fit it (255 chars),
objects are dicts, timestamps are aware UTC datetimes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic.networks import validate_email

from domain.contacts.traits import split_traits
from domain.events.timestamps import TimestampError, corrected_timestamp, parse_timestamp

MAX_ID_LENGTH = 255
MAX_NAME_LENGTH = 255


class SegmentError(ValueError):
    """Bad input. `code` is the stable machine code; `index` locates the message inside a batch."""

    def __init__(self, code: str, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.index = index

    def at(self, index: int) -> SegmentError:
        return SegmentError(self.code, f"batch[{index}]: {self.message}", index)


def invalid(message: str) -> SegmentError:
    return SegmentError("invalid_message", message)


def identifier(value: object, field: str) -> str | None:
    """A Segment id: a string, or a number turned into one (as the official libraries do). "" counts as absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid(f"{field} must be a string or a number")
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() else repr(value)
    else:
        text = str(value)
    return text_field(text, field) or None


def text_field(value: str, field: str, limit: int = MAX_ID_LENGTH) -> str:
    if len(value) > limit:
        raise invalid(f"{field} is longer than {limit} characters")
    if "\x00" in value:
        raise invalid(f"{field} contains a NUL character")
    return value


def optional_name(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"{field} must be a string")
    return text_field(value, field, MAX_NAME_LENGTH) or None


def json_object(value: object, field: str) -> dict[str, Any]:
    """A JSON object; null or absent is an empty one."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(f"{field} must be a JSON object")
    return value


def optional_time(value: object, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid(f"{field} must be an ISO-8601 string")
    try:
        return parse_timestamp(value)
    except TimestampError as exc:
        raise invalid(f"{field}: {exc}") from exc


def event_time(raw: dict[str, Any], received_at: datetime, batch_sent_at: datetime | None) -> datetime:
    """`timestamp` (or `originalTimestamp`) corrected for clock skew with `sentAt` (the message's or the batch's)."""
    client = optional_time(raw.get("timestamp"), "timestamp") or optional_time(
        raw.get("originalTimestamp"), "originalTimestamp"
    )
    sent_at = optional_time(raw.get("sentAt"), "sentAt") or batch_sent_at
    try:
        return corrected_timestamp(received_at, client, sent_at)
    except TimestampError as exc:
        raise invalid(str(exc)) from exc


def contact_traits(traits: dict[str, Any], normalize_email: Callable[[str], str | None]) -> dict[str, Any]:
    """The identify traits to apply to the contact: a non-empty `email` must be an address and is applied
    normalized ("" is left alone: clients send it for "unknown"); column values must be storable (no NUL)."""
    email = traits.get("email")
    if isinstance(email, str) and email.strip():
        normalized = normalize_email(email.strip())
        if normalized is None:
            raise SegmentError("invalid_email", f"traits.email is not a valid email address: {email[:320]!r}")
        traits = {**traits, "email": normalized}
    for column, value in split_traits(traits).columns.items():
        if "\x00" in value:
            raise invalid(f"the {column} trait contains a NUL character")
    return traits


def pydantic_email(value: str) -> str | None:
    """Default email rule: a bare address (pydantic also accepts "Name <a@b.c>"; a trait may not)."""
    try:
        _, address = validate_email(value)
    except ValueError:
        return None
    return None if "<" in value else address


def json_size(value: object) -> int:
    """Default size measure: compact UTF-8 JSON, as stored."""
    try:
        return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    except (ValueError, TypeError, RecursionError) as exc:
        raise invalid(f"the message cannot be encoded: {exc}") from None


@dataclass(frozen=True, slots=True)
class Checks:
    """What validation takes from outside the domain (the API passes orjson and the shared email rules)."""

    measure: Callable[[object], int] = json_size
    normalize_email: Callable[[str], str | None] = pydantic_email


DEFAULT_CHECKS = Checks()
