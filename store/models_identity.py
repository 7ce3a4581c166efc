"""Identity tables (migration 0020): the workspace merge policy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from domain.clock import utcnow
from store.types import UTCDateTime


class MergePolicyRow(SQLModel, table=True):
    __tablename__ = "merge_policy"
    workspace_id: str = Field(primary_key=True, max_length=40)
    policy: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
