"""Identity tables: the workspace merge policy (migration 0020), merges (0030_identity)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from domain.clock import utcnow
from store.types import UTCDateTime


class MergePolicyRow(SQLModel, table=True):
    __tablename__ = "merge_policy"
    workspace_id: str = Field(primary_key=True, max_length=40)
    policy: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ContactMerge(SQLModel, table=True):
    """One merge of `merged_id` into `survivor_id` (migration 0030_identity): the keys of the rows moved per table
    (what an unmerge moves back), the rows left on the merged contact (a twin on the survivor), and snapshots of
    both contacts before the merge (what an unmerge restores)."""

    __tablename__ = "contact_merge"
    __table_args__ = (Index("ix_contact_merge_contact", "workspace_id", "merged_id"),)
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(max_length=40)
    survivor_id: str = Field(max_length=40)
    merged_id: str = Field(max_length=40)
    status: str = Field(default="running", max_length=16)  # running, completed, refused, undoing, undone
    workflow_id: str = Field(max_length=200)
    moved: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    skipped: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    snapshot: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    undone_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
