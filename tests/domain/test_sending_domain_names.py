"""Domain names users type: IDNA, length limits, IP literals, garbage; organizational domains for alignment."""

from __future__ import annotations

import pytest

from domain.sending_domains.names import InvalidDomain, normalize_domain, organizational_domain, relaxed_aligned


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Example.COM", "example.com"),
        ("  mail.example.com.  ", "mail.example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("ñandú.com.ar", "xn--and-6ma2c.com.ar"),
        ("a-b.example.co.uk", "a-b.example.co.uk"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ],
)
def test_names_are_normalized_to_lower_case_ascii(raw: str, normalized: str) -> None:
    assert normalize_domain(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "localhost",
        "192.168.1.10",
        "[::1]",
        "2001:db8::1",
        "example..com",
        ".example.com",
        "example.com/path",
        "example.com extra",
        "example.com;drop",
        "user@example.com",
        "-bad.example.com",
        "bad-.example.com",
        "under_score.example.com",
        "example.123",
        "a" * 64 + ".com",
        ".".join(["abcdefghi"] * 26) + ".com",  # 263 characters
        "x" * 5000,
        "exa\u200bmple.com\u0000",
    ],
)
def test_bad_names_are_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(InvalidDomain) as raised:
        normalize_domain(raw)
    assert str(raised.value)


def test_the_longest_valid_name_is_accepted() -> None:
    name = ".".join(["a" * 63] * 3) + "." + "b" * 61  # 253 characters
    assert len(name) == 253
    assert normalize_domain(name) == name
    with pytest.raises(InvalidDomain):
        normalize_domain(name + "b")


@pytest.mark.parametrize(
    ("name", "organizational"),
    [
        ("example.com", "example.com"),
        ("bounces.mail.example.com", "example.com"),
        ("news.example.co.uk", "example.co.uk"),
        ("example.co.uk", "example.co.uk"),
        ("a.b.example.com.au", "example.com.au"),
    ],
)
def test_organizational_domain(name: str, organizational: str) -> None:
    assert organizational_domain(name) == organizational


def test_relaxed_alignment_compares_organizational_domains() -> None:
    assert relaxed_aligned("news.example.com", "bounces.example.com")
    assert not relaxed_aligned("example.com", "example.net")
    assert not relaxed_aligned("one.co.uk", "two.co.uk")
