"""The shared HTTP error mapping: status classes, Retry-After in both forms, transport failures."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from activities.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    ProviderConfigurationError,
    TransientDeliveryError,
    UncertainDeliveryError,
)
from activities.delivery.http_errors import (
    ErrorDetail,
    error_from_exception,
    error_from_response,
    json_object,
    kind_for_status,
    parse_retry_after,
)

NOW = datetime(2026, 11, 26, 7, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, PermanentDeliveryError),
        (413, PermanentDeliveryError),
        (422, PermanentDeliveryError),
        (401, ProviderConfigurationError),
        (403, ProviderConfigurationError),
        (404, ProviderConfigurationError),
        (301, ProviderConfigurationError),
        (408, TransientDeliveryError),
        (429, TransientDeliveryError),
        (500, TransientDeliveryError),
        (502, TransientDeliveryError),
        (503, TransientDeliveryError),
    ],
)
def test_kind_for_status(status: int, kind: type[DeliveryError]) -> None:
    assert kind_for_status(status) is kind


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Thu, 26 Nov 2026 07:01:30 GMT", 90.0),  # IMF-fixdate
        ("Thursday, 26-Nov-26 07:00:10 GMT", 10.0),  # obsolete RFC 850 form
        ("Thu, 26 Nov 2026 06:59:00 GMT", 0.0),  # already past: retry now
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


def test_the_provider_reader_overrides_the_status_rule_and_keeps_retry_after() -> None:
    response = httpx.Response(400, headers={"Retry-After": "9"}, json={"code": "Throttled"})
    error = error_from_response(
        response, provider="p", read_error=lambda r: ErrorDetail("slow down", "Throttled", TransientDeliveryError)
    )
    assert isinstance(error, TransientDeliveryError)
    assert error.retry_after == 9.0
    assert error.code == "Throttled"
    assert str(error) == "p: HTTP 400 Throttled: slow down"


def test_a_provider_hint_is_used_when_there_is_no_retry_after() -> None:
    error = error_from_response(
        httpx.Response(429), provider="p", read_error=lambda r: ErrorDetail("limited", retry_after=4.0)
    )
    assert isinstance(error, TransientDeliveryError)
    assert error.retry_after == 4.0


def test_generic_reader_takes_a_json_message_or_the_text() -> None:
    assert "quota" in str(error_from_response(httpx.Response(400, json={"message": "quota"}), provider="p"))
    error = error_from_response(httpx.Response(502, text="<html>bad gateway</html>"), provider="p")
    assert isinstance(error, TransientDeliveryError)
    assert error.code == "http_502"
    assert "bad gateway" in str(error)


@pytest.mark.parametrize(
    ("exc", "kind", "code"),
    [
        (httpx.ReadTimeout("read timed out"), UncertainDeliveryError, "timeout_after_request"),
        (httpx.WriteTimeout("write timed out"), TransientDeliveryError, "timeout"),
        (httpx.PoolTimeout("no connection free"), TransientDeliveryError, "timeout"),
        (httpx.ConnectTimeout("connect timed out"), TransientDeliveryError, "timeout"),
        (httpx.ConnectError("refused"), TransientDeliveryError, "connection"),
        (httpx.RemoteProtocolError("peer closed"), TransientDeliveryError, "connection"),
        (httpx.UnsupportedProtocol("ftp://"), ProviderConfigurationError, "unsupported_protocol"),
    ],
)
def test_transport_failures(exc: httpx.HTTPError, kind: type[DeliveryError], code: str) -> None:
    error = error_from_exception(exc, provider="p")
    assert type(error) is kind
    assert error.code == code


def test_retry_after_ignores_non_ascii_digits() -> None:
    assert parse_retry_after("²") is None


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b'{"code": 1}', {"code": 1}), (b"[1, 2]", {}), (b"<html>Bad Gateway</html>", {}), (b"", {})],
)
def test_json_object_bodies(content: bytes, expected: dict[str, object]) -> None:
    assert json_object(httpx.Response(502, content=content)) == expected
