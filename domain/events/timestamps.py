"""Segment timestamps: lenient ISO-8601 parsing and the clock-skew correction Segment applies.

A device clock can be off by hours. Segment trusts the *difference* between the client's `timestamp` (when the
event happened) and `sentAt` (when the request left the device), both read from the same, possibly wrong,
clock, and anchors it to the server's `receivedAt`: `timestamp = receivedAt - (sentAt - timestamp)`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

# Also accepts what clients really send besides strict ISO-8601: single-digit month/day/hour (Segment's own
# docs show "2015-2-02T00:30:08.276Z"), a space instead of "T", any number of fraction digits, "+0100" offsets.
_LENIENT = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[Tt ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(?:([Zz])|([+-])(\d{2}):?(\d{2}))?"
)


class TimestampError(ValueError):
    pass


def parse_timestamp(value: str) -> datetime:
    """An aware UTC datetime; a timestamp without an offset is taken as UTC. Raises TimestampError."""
    text = value.strip()
    if len(text) > 64:
        raise TimestampError("timestamp is too long")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = _parse_lenient(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise TimestampError(f"timestamp out of range: {value!r}") from exc


def _parse_lenient(text: str) -> datetime:
    match = _LENIENT.fullmatch(text)
    if match is None:
        raise TimestampError(f"not an ISO-8601 timestamp: {text!r}")
    year, month, day, hour, minute, second, fraction, _zulu, sign, off_h, off_m = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    tz = UTC
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        try:
            tz = timezone(-offset if sign == "-" else offset)
        except ValueError as exc:
            raise TimestampError(f"bad UTC offset in {text!r}") from exc
    try:
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micros, tzinfo=tz
        )
    except ValueError as exc:
        raise TimestampError(f"not a valid date/time: {text!r}") from exc


def corrected_timestamp(received_at: datetime, client_timestamp: datetime | None, sent_at: datetime | None) -> datetime:
    """When the event happened, on the server's clock (see the module docstring)."""
    if client_timestamp is None:
        return received_at
    if sent_at is None:
        return client_timestamp
    try:
        return received_at - (sent_at - client_timestamp)
    except OverflowError as exc:
        raise TimestampError("timestamp and sentAt are too far apart") from exc
