"""Masking of sensitive values in audit diffs. Secrets (API key digests, provider credentials, webhook secrets,
private keys) are always redacted whole; a contact's email and phone keep only enough to be recognised."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

REDACTED = "[redacted]"
_SECRET = re.compile(r"(secret|password|passwd|token|key_hash|private_key|credential|api_key|apikey|signing_key)")
_PII = {"email", "phone"}


def mask_email(value: str) -> str:
    local, at, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if at else mask_text(value)


def mask_text(value: str) -> str:
    return value[:2] + "*" * max(0, len(value) - 4) + value[-2:] if len(value) > 4 else "***"


def jsonable(value: Any) -> Any:
    """A plain JSON value (datetimes as ISO text), so the hashed document is stable."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    return str(value)


def masked(value: Any, key: str = "") -> Any:
    """`value` (a diff side) with sensitive keys masked, at any depth."""
    name = key.lower()
    if value is not None and _SECRET.search(name):
        return REDACTED
    if isinstance(value, str) and name in _PII:
        return mask_email(value) if name == "email" else mask_text(value)
    if isinstance(value, dict):
        return {str(k): masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, key) for v in value]
    return jsonable(value)
