"""One mapping, for every HTTP delivery adapter, of a failed call to our error classes.

By HTTP status: 429, 408 and 5xx are transient (with the provider's Retry-After, in seconds or as an HTTP-date);
401 and 403 mean our credentials or account are wrong for this provider; 404 and redirects mean the endpoint or a
resource our configuration names (a domain, a configuration set) is not there: configuration errors too; any other
4xx is permanent. A provider's error reader turns its documented error body into an `ErrorDetail`, whose `kind`
overrides the status rule where the provider's error code says more than the status does.
Timeouts and connection failures are transient.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from activities.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    ProviderConfigurationError,
    TransientDeliveryError,
    UncertainDeliveryError,
)

ErrorKind = type[DeliveryError]


@dataclass(frozen=True)
class ErrorDetail:
    """What a provider's error answer says. `kind` is set when the provider's own code decides the class;
    `retry_after` is a provider-specific hint used when the answer has no Retry-After header."""

    message: str
    code: str | None = None
    kind: ErrorKind | None = None
    retry_after: float | None = None


ErrorReader = Callable[[httpx.Response], ErrorDetail]


def kind_for_status(status: int) -> ErrorKind:
    if status in (408, 429) or status >= 500:
        return TransientDeliveryError
    if status in (401, 403, 404) or 300 <= status < 400:
        return ProviderConfigurationError
    return PermanentDeliveryError


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date (RFC 9110 §10.2.3); None when absent or
    unreadable, never negative."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def json_body(response: httpx.Response) -> Any:
    """The answer's JSON, or None when it has none (an HTML error page from a proxy, an empty body)."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's body as a JSON object, or {} when it is not one."""
    body = json_body(response)
    return body if isinstance(body, dict) else {}


def read_generic_error(response: httpx.Response) -> ErrorDetail:
    body = json_body(response)
    if isinstance(body, dict):
        for key in ("message", "Message", "error", "detail"):
            if isinstance(body.get(key), str):
                return ErrorDetail(message=body[key])
    return ErrorDetail(message=response.text.strip()[:500] or response.reason_phrase)


def error_from_response(
    response: httpx.Response, *, provider: str, read_error: ErrorReader = read_generic_error
) -> DeliveryError:
    detail = read_error(response)
    kind = detail.kind or kind_for_status(response.status_code)
    code = detail.code or f"http_{response.status_code}"
    message = f"{provider}: HTTP {response.status_code} {code}: {detail.message}"
    if kind is TransientDeliveryError:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return TransientDeliveryError(
            message, code=code, retry_after=retry_after if retry_after is not None else detail.retry_after
        )
    return kind(message, code=code)


def error_from_exception(exc: httpx.HTTPError, *, provider: str, code_prefix: str = "") -> DeliveryError:
    if isinstance(exc, httpx.UnsupportedProtocol):
        return ProviderConfigurationError(f"{provider}: {exc}", code=f"{code_prefix}unsupported_protocol")
    text = f"{provider}: {type(exc).__name__}: {exc}".rstrip(": ")
    if isinstance(exc, httpx.ReadTimeout):
        # The whole request was sent and the provider is working on it: it may accept it after we stopped waiting.
        # (A dropped connection is treated as not sent: it is mostly a stale pooled connection the server closed.)
        return UncertainDeliveryError(text, code=f"{code_prefix}timeout_after_request")
    code = "timeout" if isinstance(exc, httpx.TimeoutException) else "connection"
    return TransientDeliveryError(text, code=f"{code_prefix}{code}")


async def send_request(
    http: httpx.AsyncClient, request: httpx.Request, *, provider: str, read_error: ErrorReader = read_generic_error
) -> httpx.Response:
    """Send one request; a 2xx answer comes back read, anything else is raised as a DeliveryError."""
    try:
        response = await http.send(request)
    except httpx.HTTPError as exc:
        raise error_from_exception(exc, provider=provider) from exc
    if not response.is_success:
        raise error_from_response(response, provider=provider, read_error=read_error)
    return response


def unreadable_acceptance(provider: str, response: httpx.Response, what: str) -> UncertainDeliveryError:
    """A 2xx answer we cannot read an id from. The provider may well have taken the message, so retrying could
    send it twice: never retried, and the message log keeps the reason."""
    return UncertainDeliveryError(
        f"{provider}: HTTP {response.status_code} without {what}: {response.text[:300]!r}", code="unreadable_acceptance"
    )
