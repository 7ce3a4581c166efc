"""CSV import tables (migration 0021_imports): the import and its progress checkpoint, the uploaded file in
parts (in the database, so any worker machine reads it), and the per-row errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, Text
from sqlmodel import Field, SQLModel

from domain.clock import utcnow
from store.types import UTCDateTime


class ContactImport(SQLModel, table=True):
    __tablename__ = "contact_import"
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=40)
    status: str = Field(default="uploading", max_length=16)  # uploading|queued|running|completed|failed
    filename: str | None = Field(default=None, max_length=255)
    mapping: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    columns: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    part_bytes: int = 0
    size_bytes: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    data_offset: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))  # just past the header
    # the checkpoint: the rows before this byte offset are applied
    cursor_offset: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    cursor_row: int = 0  # the last data row applied
    rows_done: int = 0
    imported: int = 0
    updated: int = 0
    failed: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ContactImportPart(SQLModel, table=True):
    __tablename__ = "contact_import_part"
    import_id: str = Field(foreign_key="contact_import.id", primary_key=True, max_length=40)
    seq: int = Field(primary_key=True)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ContactImportError(SQLModel, table=True):
    __tablename__ = "contact_import_error"
    __table_args__ = (Index("ix_contact_import_error_row", "import_id", "row"),)
    id: int | None = Field(default=None, primary_key=True)
    import_id: str = Field(foreign_key="contact_import.id", max_length=40)
    row: int
    column: str = Field(max_length=200)
    reason: str = Field(sa_column=Column(Text, nullable=False))
