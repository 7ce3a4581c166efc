"""Segment request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from api.schemas.base import SafeInput
from store.models_segments import Segment, SegmentHistory

FILTER_DOC = "A segment filter (README: Segments): and / or / not over attribute, field, event, score, consent, segment"


class SegmentCreate(SafeInput):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    filter: dict[str, Any] = Field(description=FILTER_DOC)


class SegmentUpdate(SafeInput):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    filter: dict[str, Any] | None = Field(None, description=FILTER_DOC)


class SegmentPreview(SafeInput):
    filter: dict[str, Any] = Field(description=FILTER_DOC)


class PreviewCount(BaseModel):
    count: int


class SegmentPublic(BaseModel):
    id: str
    name: str
    filter: dict[str, Any]
    time_based: bool = Field(description="Time alone changes who matches: the scheduled refresh re-evaluates it")
    member_count: int
    refreshed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Segment) -> SegmentPublic:
        return cls.model_validate(row, from_attributes=True)


class MemberPublic(BaseModel):
    id: str = Field(description="The contact id")
    entered_at: datetime


class ContactSegment(BaseModel):
    segment_id: str
    entered_at: datetime


class HistoryEntry(BaseModel):
    id: int
    contact_id: str
    entered_at: datetime
    exited_at: datetime | None

    @classmethod
    def of(cls, row: SegmentHistory) -> HistoryEntry:
        return cls.model_validate(row, from_attributes=True)


class RefreshStarted(BaseModel):
    workflow_id: str
