"""A contacts export, streamed as JSON lines or CSV, under the caller's field policy: a hidden field is absent
(no CSV column at all), a masked one masked, exactly as the API reads it. The rows are read in keyset batches
(store/contact_export.py) and written as they come, so an export of any size holds one batch in memory.

CSV cells that a spreadsheet would run as a formula (`=`, `@`, a tab or a carriage return first, or `+`/`-`
followed by something that is not a number) are prefixed with `'` (OWASP's CSV-injection advice); a phone
`+33...` or a `-5` stays as it is."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas.contacts import representation
from domain.access.fields import ATTRIBUTES, FieldPolicy, apply_read, readable
from domain.json_limits import clipped
from store.contact_export import contact_batches

BASE_COLUMNS = ("id", "external_id", "email", "phone", "first_name", "last_name", "timezone", "company_id")
TIMES = ("created_at", "updated_at")
_NUMBER = re.compile(r"^[+-]?[0-9][0-9 .,()]*$")


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


MEDIA_TYPES = {ExportFormat.JSONL: "application/x-ndjson", ExportFormat.CSV: "text/csv; charset=utf-8"}


@dataclass(frozen=True)
class ExportRequest:
    format: ExportFormat
    segment_id: str | None
    updated_since: datetime | None
    attributes: tuple[str, ...]  # CSV: attribute names as their own columns (else one JSON `attributes` column)


def csv_columns(policy: FieldPolicy, attributes: Sequence[str]) -> list[str]:
    """The header: the columns the role may see, then the asked attributes it may see (or `attributes`)."""
    columns = [name for name in BASE_COLUMNS if readable(policy, name)]
    if attributes:
        columns += [f"attributes.{name}" for name in attributes if readable(policy, f"attributes.{name}")]
    else:
        columns.append(ATTRIBUTES)
    return [*columns, *TIMES]


def safe_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list | bool | int | float):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = str(value)
    if text and (text[0] in "=@\t\r" or (text[0] in "+-" and not _NUMBER.match(text))):
        return "'" + text
    return text


def csv_row(columns: Sequence[str], view: dict[str, Any]) -> list[str]:
    attributes = view.get(ATTRIBUTES) or {}
    cells = []
    for column in columns:
        if column.startswith("attributes."):
            cells.append(safe_cell(attributes.get(column.removeprefix("attributes."))))
        else:
            cells.append(safe_cell(view.get(column)))
    return cells


def _json_line(view: dict[str, Any]) -> bytes:
    return (json.dumps(view, ensure_ascii=False, default=_iso, separators=(",", ":")) + "\n").encode()


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


async def export_chunks(
    session: AsyncSession, workspace_id: str, policy: FieldPolicy, request: ExportRequest
) -> AsyncIterator[bytes]:
    """The export's bytes, one chunk per batch of contacts (the CSV header first)."""
    columns = csv_columns(policy, request.attributes)
    if request.format is ExportFormat.CSV:
        yield _csv_bytes([columns])
    batches = contact_batches(session, workspace_id, segment_id=request.segment_id, updated_since=request.updated_since)
    async for batch in batches:
        views = [_view(policy, contact) for contact in batch]
        if request.format is ExportFormat.CSV:
            yield _csv_bytes([csv_row(columns, view) for view in views])
        else:
            yield b"".join(_json_line(view) for view in views)


def _view(policy: FieldPolicy, contact: Any) -> dict[str, Any]:
    view = apply_read(policy, representation(contact))
    if ATTRIBUTES in view:  # a row stored before attributes were bounded may be nested too deep to write
        view[ATTRIBUTES] = clipped(view[ATTRIBUTES])
    return view


def _csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()
