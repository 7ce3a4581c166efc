from __future__ import annotations

import datetime as dt

import httpx
import pytest

from activities.delivery.http_answers import json_object, retry_after_seconds

NOW = dt.datetime(2015, 10, 21, 7, 28, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),  # the RFC 9110 example date, 30 s after NOW
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past
        (None, None),
        ("", None),
        ("-5", None),
        ("soon", None),
    ],
)
def test_reads_delay_seconds_and_http_dates(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, now=NOW) == seconds


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b'{"code": 1}', {"code": 1}), (b"[1, 2]", {}), (b"<html>Bad Gateway</html>", {}), (b"", {})],
)
def test_json_object_bodies(content: bytes, expected: dict[str, object]) -> None:
    assert json_object(httpx.Response(502, content=content)) == expected
