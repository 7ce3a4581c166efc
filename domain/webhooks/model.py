"""The normalized delivery event every provider's webhook payload turns into."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    OPENED = "opened"
    CLICKED = "clicked"
    UNSUBSCRIBED = "unsubscribed"
    FAILED = "failed"
    UNKNOWN = "unknown"  # a type we do not map; `raw_type` keeps the provider's name for it


class BounceType(StrEnum):
    HARD = "hard"
    SOFT = "soft"


# Column sizes of delivery_event: longer values are cut, never refused (a provider's report must not bounce).
MAX_EVENT_ID = 255
MAX_MESSAGE_ID = 255
MAX_MESSAGE_LOG_ID = 40
MAX_RECIPIENT = 320
MAX_REASON = 1000
MAX_URL = 2048
MAX_RAW_TYPE = 64


@dataclass(frozen=True)
class NormalizedEvent:
    type: EventType
    provider_event_id: str  # the provider's own id for this event: de-duplicates retries
    raw_type: str
    occurred_at: datetime
    recipient: str | None = None
    provider_message_id: str | None = None  # finds our message log (as the provider named the message)
    message_log_id: str | None = None  # our message log id, when the provider echoes the metadata we sent
    bounce_type: BounceType | None = None
    reason: str | None = None
    url: str | None = None

    @property
    def suppresses(self) -> bool:
        """Hard bounces, complaints and unsubscribes put the recipient on the suppression list."""
        if self.type is EventType.BOUNCED:
            return self.bounce_type is BounceType.HARD
        return self.type in (EventType.COMPLAINED, EventType.UNSUBSCRIBED)

    @property
    def suppression_reason(self) -> str:
        return {EventType.BOUNCED: "hard_bounce", EventType.COMPLAINED: "complaint"}.get(self.type, "unsubscribed")


class MalformedPayload(ValueError):
    """The (authentic) payload does not have the shape the provider documents; the API answers 400."""

    def __init__(self, message: str, code: str = "malformed_payload") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def cut(value: Any, limit: int) -> str | None:
    """A string field, cut to its column's size; None for missing or empty values (numbers become text). What no
    column can store is dropped: NUL (PostgreSQL text refuses it) and lone surrogates (JSON's "\\ud800" is no
    character UTF-8 can encode)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").encode("utf-8", "ignore").decode("utf-8").strip()
    return value[:limit] if value else None


def event_id(*parts: Any) -> str:
    """An event id composed of several fields, for providers whose events carry none (never empty: the separators
    remain)."""
    return cut(":".join(str(part) for part in parts), MAX_EVENT_ID) or ":"


def required(record: dict[str, Any], key: str, where: str) -> str:
    value = cut(record.get(key), MAX_EVENT_ID)
    if value is None:
        raise MalformedPayload(f"{where}: `{key}` is missing")
    return value


def mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedPayload(f"{where} must be a JSON object")
    return value


def optional_mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def from_unix(value: Any, fallback: datetime) -> datetime:
    """Seconds since the epoch (int, float or numeric string) as an aware UTC datetime."""
    try:
        seconds = float(value)
        return datetime.fromtimestamp(seconds, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return fallback


def from_iso(value: Any, fallback: datetime) -> datetime:
    """ISO 8601 (with Z or an offset) as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return fallback
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 shifted out of range by its offset
        return fallback


def our_id(value: Any) -> str | None:
    """A message log id echoed back to us (ids are at most 40 characters; anything else is not ours)."""
    text = cut(value, MAX_MESSAGE_LOG_ID + 1)
    return text if text and len(text) <= MAX_MESSAGE_LOG_ID else None


def bare_message_id(value: Any) -> str | None:
    """A Message-ID without its angle brackets."""
    text = cut(value, MAX_MESSAGE_ID + 2)
    return text.strip("<>")[:MAX_MESSAGE_ID] or None if text else None
