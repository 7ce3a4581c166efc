"""Normalisation of imported identifier values, one small function per field so the contact-creation rules of
the API (email uniqueness, E.164 phones) can be pointed at the same functions, or these at theirs.

Each returns the stored form, or None when the value is not acceptable.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

_ASCII_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])$"
)
MAX_EMAIL = 320


def normalize_email(value: str) -> str | None:
    """The address with its domain lower-cased (as the API's email-validator normalisation stores it); plain ASCII
    addresses take a regular expression (an import checks a million of them), the rest email-validator."""
    value = value.strip()
    if len(value) > MAX_EMAIL:
        return None
    if value.isascii():
        if not _ASCII_EMAIL.match(value) or len(value.partition("@")[0]) > 64:
            return None
        local, _, domain = value.rpartition("@")
        return f"{local}@{domain.lower()}"
    try:
        return validate_email(value, check_deliverability=False, test_environment=True).normalized
    except EmailNotValidError:
        return None


@lru_cache(maxsize=65536)
def normalize_phone(value: str, region: str | None = None) -> str | None:
    """E.164 (`+14155550123`) of a valid number; without a `region`, the number must carry its `+` country code."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
