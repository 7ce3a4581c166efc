"""Why a webhook request is refused. Nothing is stored for a refused request."""

from __future__ import annotations

import math

from api.errors import ApiError, Forbidden, NotFound, Unauthorized, Unavailable

STALE_AFTER_SECONDS = 600  # signed timestamps further than this from our clock are refused (check_fresh)


def missing_signature(message: str, *, challenge: str | None = None) -> Unauthorized:
    return Unauthorized(message, code="missing_signature", challenge=challenge)


def invalid_signature(
    message: str = "the signature does not match the request", *, challenge: str | None = None
) -> Unauthorized:
    return Unauthorized(message, code="invalid_signature", challenge=challenge)


def stale_request(message: str = "the signed timestamp is too far from now") -> Unauthorized:
    return Unauthorized(message, code="stale_request")


def replayed_request(message: str = "this signed request was already received") -> Unauthorized:
    return Unauthorized(message, code="replayed_request")


def certificate_unavailable() -> Unavailable:
    return Unavailable("the SNS signing certificate could not be fetched; retry", code="certificate_unavailable")


def not_configured(message: str) -> Forbidden:
    return Forbidden(message, code="webhook_not_configured")


def topic_not_allowed(topic: str) -> Forbidden:
    return Forbidden(f"SNS topic {topic!r} is not in the provider's webhook_topic_arns", code="topic_not_allowed")


def provider_not_found(provider_id: str) -> NotFound:
    return NotFound(f"no delivery provider {provider_id!r}", code="provider_not_found")


class MalformedWebhook(ApiError):
    status_code = 400
    code = "malformed_payload"


def check_fresh(signed_at: float, now: float, *, max_age: float = STALE_AFTER_SECONDS) -> None:
    """Refuse a timestamp older than max_age, or further ahead of our clock than STALE_AFTER_SECONDS."""
    if not -STALE_AFTER_SECONDS <= now - signed_at <= max_age:
        raise stale_request()


def parse_timestamp(value: object) -> float:
    """Unix seconds; "nan" and "inf" parse as floats but are no moment (nan would pass any freshness check)."""
    try:
        seconds = float(str(value).strip())
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds):
        raise invalid_signature("the signed timestamp is not a number")
    return seconds
