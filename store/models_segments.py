"""Segment tables: the saved filters, who is in each now, and who entered or left when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from domain.clock import utcnow
from store.types import UTCDateTime


def _ts(nullable: bool = False) -> Any:
    return Field(default_factory=None if nullable else utcnow, sa_column=Column(UTCDateTime(), nullable=nullable))


class Segment(SQLModel, table=True):
    """A saved filter (domain.segments.filters, canonical JSON) and its current member count. `time_based`: the
    filter has a relative window or date, so time alone changes who matches (the scheduled refresh reads it)."""

    __tablename__ = "segment"
    __table_args__ = (Index("ix_segment_workspace", "workspace_id", "id"),)
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(max_length=40)
    name: str = Field(max_length=200)
    filter: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    time_based: bool = False
    member_count: int = 0
    refreshed_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class SegmentMembership(SQLModel, table=True):
    """Who is in a segment now. The primary key answers "is this contact a member" in one index lookup; the
    contact index lists a contact's segments."""

    __tablename__ = "segment_membership"
    __table_args__ = (Index("ix_segment_membership_contact", "workspace_id", "contact_id"),)
    segment_id: str = Field(primary_key=True, max_length=40)
    contact_id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(max_length=40)
    entered_at: datetime = _ts()


class SegmentHistory(SQLModel, table=True):
    """One row per stay in a segment: when the contact entered and (once it left) when it exited."""

    __tablename__ = "segment_history"
    __table_args__ = (
        Index("ix_segment_history_segment", "segment_id", "id"),
        Index("ix_segment_history_open", "segment_id", "contact_id", "exited_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(max_length=40)
    segment_id: str = Field(max_length=40)
    contact_id: str = Field(max_length=40)
    entered_at: datetime = _ts()
    exited_at: datetime | None = _ts(nullable=True)
