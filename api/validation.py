"""Input checks shared by the REST and ingestion APIs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from fastapi import Path

# PostgreSQL text cannot hold NUL, so a NUL in an id or cursor would fail the query: refuse it with a 422 first.
NO_NUL = r"^[^\x00]*$"
ResourceId = Annotated[str, Path(max_length=64, pattern=NO_NUL, description="An id this API returned")]
MAX_SERIAL_ID = 2**31 - 1  # serial ids (dead letters, score alerts) are 32-bit integers on PostgreSQL
SerialId = Annotated[int, Path(ge=1, le=MAX_SERIAL_ID, description="An id this API returned")]


def normalized_email(value: str) -> str | None:
    """The address with its domain normalised, or None when it is not a syntactically valid address.

    Deliverability is not checked here (no DNS on the request path); the reserved `.test` domain is accepted
    so sandboxes and tests can use it.
    """
    try:
        return validate_email(value, check_deliverability=False, test_environment=True).normalized
    except EmailNotValidError:
        return None


def as_utc(value: datetime | None) -> datetime | None:
    """A time query parameter given without an offset is taken as UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
