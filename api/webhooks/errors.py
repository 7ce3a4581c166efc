"""Why a webhook request is refused. Nothing is stored for a refused request."""

from __future__ import annotations

import math

from api.errors import ApiError, Forbidden, NotFound, Unauthorized

STALE_AFTER_SECONDS = 600  # signed timestamps further than this from our clock (either way) are refused


def missing_signature(message: str) -> Unauthorized:
    return Unauthorized(message, code="missing_signature")


def invalid_signature(message: str = "the signature does not match the request") -> Unauthorized:
    return Unauthorized(message, code="invalid_signature")


def stale_request(message: str = "the signed timestamp is too far from now") -> Unauthorized:
    return Unauthorized(message, code="stale_request")


def replayed_request(message: str = "this signed request was already received") -> Unauthorized:
    return Unauthorized(message, code="replayed_request")


def not_configured(message: str) -> Forbidden:
    return Forbidden(message, code="webhook_not_configured")


def topic_not_allowed(topic: str) -> Forbidden:
    return Forbidden(f"SNS topic {topic!r} is not in the provider's webhook_topic_arns", code="topic_not_allowed")


def provider_not_found(provider_id: str) -> NotFound:
    return NotFound(f"no delivery provider {provider_id!r}", code="provider_not_found")


class MalformedWebhook(ApiError):
    status_code = 400
    code = "malformed_payload"


def check_fresh(signed_at: float, now: float) -> None:
    if abs(now - signed_at) > STALE_AFTER_SECONDS:
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
