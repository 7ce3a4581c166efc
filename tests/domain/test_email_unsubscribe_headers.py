from __future__ import annotations

import email.policy
from email import message_from_bytes

import pytest

from domain.delivery.email import ListUnsubscribe, build_email, email_bytes
from domain.delivery.outbound import OutboundEmail

URL = "https://api.example.test/u/" + "AWsH1jIBd3NfMDFtOGI5c2RrcThzdDd5N3oxZmhrY3Rid3oAZmlyc3RuYW1lLmxhc3RuY" * 2


def _email(unsubscribe: ListUnsubscribe | None) -> email.message.EmailMessage:
    return build_email(
        sender="Team <team@example.test>",
        to="ada@example.test",
        subject="Hello",
        html="<p>Hi</p>",
        text="Hi",
        idempotency_key="k1",
        unsubscribe=unsubscribe,
    )


def _header_lines(raw: bytes, name: str) -> list[str]:
    """The raw lines of one header field (its first line and continuation lines)."""
    lines, inside = [], False
    for line in raw.decode().split("\r\n"):
        if line.lower().startswith(name.lower() + ":"):
            inside = True
        elif inside and not line[:1].isspace():
            break
        if inside:
            lines.append(line)
    return lines


def test_headers_carry_the_https_uri_and_the_one_click_marker() -> None:
    message = _email(ListUnsubscribe(URL))
    assert message["List-Unsubscribe"] == f"<{URL}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_mailto_is_offered_after_the_https_uri() -> None:
    message = _email(ListUnsubscribe(URL, mailto="unsubscribe@example.test"))
    assert message["List-Unsubscribe"] == f"<{URL}>, <mailto:unsubscribe@example.test?subject=unsubscribe>"


@pytest.mark.parametrize(
    "policy",
    [None, email.policy.SMTP, email.policy.SMTPUTF8],
    ids=["email_bytes", "smtp-78-columns", "smtputf8"],
)
def test_the_url_is_never_split_or_encoded_on_the_wire(policy: email.policy.Policy | None) -> None:
    message = _email(ListUnsubscribe(URL, mailto="unsubscribe@example.test"))
    raw = email_bytes(message) if policy is None else message.as_bytes(policy=policy)
    lines = _header_lines(raw, "List-Unsubscribe")
    assert lines[0] == f"List-Unsubscribe: <{URL}>,"
    assert lines[1] == " <mailto:unsubscribe@example.test?subject=unsubscribe>"
    assert "=?" not in raw.decode()
    parsed = message_from_bytes(raw, policy=email.policy.default)
    assert parsed["List-Unsubscribe"] == f"<{URL}>, <mailto:unsubscribe@example.test?subject=unsubscribe>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_short_header_stays_on_one_line() -> None:
    raw = email_bytes(_email(ListUnsubscribe("https://x.test/u/t", mailto="u@x.test")))
    assert _header_lines(raw, "List-Unsubscribe") == [
        "List-Unsubscribe: <https://x.test/u/t>, <mailto:u@x.test?subject=unsubscribe>"
    ]


def test_without_unsubscribe_no_list_headers_and_crlf_wire_form() -> None:
    message = _email(None)
    assert message["List-Unsubscribe"] is None
    assert message["List-Unsubscribe-Post"] is None
    raw = email_bytes(message)
    assert b"\r\n\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_headers_for_api_style_providers() -> None:
    headers = ListUnsubscribe(URL, mailto="u@example.test").headers()
    assert headers == {
        "List-Unsubscribe": f"<{URL}>, <mailto:u@example.test?subject=unsubscribe>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    outbound = OutboundEmail(
        idempotency_key="k1",
        message_log_id="msg_1",
        sender="team@example.test",
        to="ada@example.test",
        subject="Hello",
        text="Hi",
        headers=headers,
        raw=email_bytes(_email(ListUnsubscribe(URL, mailto="u@example.test"))),
    )
    assert outbound.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize(
    "unsubscribe",
    [
        ListUnsubscribe("https://x.test/u/a\r\nBcc: victim@example.test"),
        ListUnsubscribe("https://x.test/u/a>, <https://evil.test"),
        ListUnsubscribe("https://x.test/u/é"),
        ListUnsubscribe("https://x.test/u/a", mailto="u@x.test>"),
    ],
)
def test_uris_that_would_break_the_header_are_refused(unsubscribe: ListUnsubscribe) -> None:
    with pytest.raises(ValueError, match="List-Unsubscribe"):
        _email(unsubscribe)
