"""The dead-letter table: anything that exhausted its retries (domain/dead_letters/model.py), one row per
(kind, subject)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.types import UTCDateTime


class DeadLetter(SQLModel, table=True):
    __tablename__ = "dead_letter"
    __table_args__ = (
        UniqueConstraint("kind", "subject_id", name="uq_dead_letter_subject"),
        Index("ix_dead_letter_workspace", "workspace_id", "status", "id"),
        Index("ix_dead_letter_journey", "workspace_id", "journey_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(max_length=40)
    kind: str = Field(max_length=32)  # domain.dead_letters.model.DeadLetterKind
    subject_id: str = Field(max_length=250)  # the failed work's idempotency key
    workflow_id: str | None = Field(default=None, max_length=200)
    run_id: str | None = Field(default=None, max_length=64)
    activity_id: str | None = Field(default=None, max_length=64)
    journey_id: str | None = Field(default=None, max_length=40)
    contact_id: str | None = Field(default=None, max_length=40)
    input: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error_type: str = Field(max_length=64)
    error: str = Field(sa_column=Column(Text, nullable=False))
    attempts: int = 1
    first_failed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_failed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(default="open", max_length=16)  # domain.dead_letters.model.DeadLetterStatus
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    resolved_by: str | None = Field(default=None, max_length=200)
    resolution: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # what the replay did
