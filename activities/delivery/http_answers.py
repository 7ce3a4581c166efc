"""Reading providers' HTTP answers: the Retry-After header and JSON object bodies."""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


def retry_after_seconds(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Retry-After (RFC 9110 §10.2.3), delay-seconds or an HTTP-date, as seconds to wait; None when the header is
    absent or unreadable. A date in the past means 0."""
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


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The body as a JSON object, or {} when it is not one (a proxy's HTML error page, say)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
