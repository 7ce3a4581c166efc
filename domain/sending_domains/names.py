"""Domain names as users type them: normalized to lower-case ASCII (IDNA), validated, and reduced to their
organizational domain for DMARC alignment."""

from __future__ import annotations

import ipaddress
import re

MAX_NAME_LENGTH = 253
MAX_LABEL_LENGTH = 63
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")

# Second-level labels under which registrations happen one level down (co.uk, com.au ...). A deliberately small,
# documented stand-in for the Public Suffix List: the organizational domain is the last two labels, or the last
# three when the last two are one of these shared suffixes.
SHARED_SUFFIXES = frozenset(
    {
        "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk",
        "com.au", "net.au", "org.au", "edu.au", "gov.au",
        "co.nz", "org.nz", "net.nz",
        "co.jp", "ne.jp", "or.jp", "ac.jp",
        "com.br", "net.br", "org.br",
        "co.in", "net.in", "org.in",
        "co.za", "org.za",
        "com.mx", "com.ar", "com.tr", "com.cn", "com.hk", "com.sg", "com.tw",
        "co.kr", "co.il", "co.id", "com.my", "com.ph",
    }
)  # fmt: skip


class InvalidDomain(ValueError):
    """The text is not a domain name we can send from."""


def normalize_domain(raw: str) -> str:
    """The domain as lower-case ASCII without a trailing dot; raises InvalidDomain with the reason.

    Internationalized labels go through the standard library's IDNA codec (IDNA 2003 with nameprep: the domain
    layer takes no third-party IDNA package); the result is checked as plain LDH labels either way."""
    text = raw.strip()
    if len(text) > MAX_NAME_LENGTH * 4:  # before any IDNA work: nothing this long can be valid
        raise InvalidDomain(f"the domain is longer than {MAX_NAME_LENGTH} characters")
    if text.endswith("."):
        text = text[:-1]
    if not text:
        raise InvalidDomain("the domain is empty")
    if _is_ip_literal(text):
        raise InvalidDomain("an IP address is not a domain")
    ascii_name = ".".join(_ascii_label(label) for label in text.split("."))
    if len(ascii_name) > MAX_NAME_LENGTH:
        raise InvalidDomain(f"the domain is longer than {MAX_NAME_LENGTH} characters")
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise InvalidDomain("the domain needs at least two labels (like example.com)")
    if labels[-1].isdigit():
        raise InvalidDomain("the top-level label cannot be numeric")
    return ascii_name


def _is_ip_literal(text: str) -> bool:
    candidate = text.strip("[]")
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def _ascii_label(label: str) -> str:
    if not label:
        raise InvalidDomain("the domain has an empty label (two dots in a row)")
    if label.isascii():
        ascii_label = label.lower()
    else:
        try:
            ascii_label = label.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            raise InvalidDomain(f"the label {label!r} is not a valid internationalized name") from exc
    if len(ascii_label) > MAX_LABEL_LENGTH:
        raise InvalidDomain(f"the label {ascii_label[:20]!r}... is longer than {MAX_LABEL_LENGTH} characters")
    if not _LABEL.match(ascii_label):
        raise InvalidDomain(f"the label {ascii_label!r} may only hold letters, digits and inner hyphens")
    return ascii_label


def organizational_domain(name: str) -> str:
    """The registrable part of a (normalized) name: last two labels, or three under a shared suffix."""
    labels = name.lower().rstrip(".").split(".")
    keep = 3 if ".".join(labels[-2:]) in SHARED_SUFFIXES else 2
    return ".".join(labels[-keep:])


def relaxed_aligned(first: str, second: str) -> bool:
    """DMARC relaxed alignment (RFC 7489 §3.1): both names share their organizational domain."""
    return organizational_domain(first) == organizational_domain(second)
