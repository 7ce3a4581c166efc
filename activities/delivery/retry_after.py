"""Reading an HTTP Retry-After header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date."""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime


def retry_after_seconds(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait, or None when the header is absent or unreadable. A date in the past means 0."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - current).total_seconds())
