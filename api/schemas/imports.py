"""Imports as the API answers them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from store.models_imports import ContactImport


class ImportPublic(BaseModel):
    id: str
    status: str  # uploading | queued | running | completed | failed
    filename: str | None
    size_bytes: int
    mapping: dict[str, str]
    rows_done: int
    imported: int  # rows that created a contact
    updated: int  # rows that updated one (stored before, or created by an earlier row of the file)
    failed: int  # rows refused: GET /v1/imports/{id}/errors
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, row: ContactImport) -> ImportPublic:
        return cls(
            id=row.id, status=row.status, filename=row.filename, size_bytes=row.size_bytes, mapping=row.mapping,
            rows_done=row.rows_done, imported=row.imported, updated=row.updated, failed=row.failed,
            error=row.error, created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at,
        )  # fmt: skip
