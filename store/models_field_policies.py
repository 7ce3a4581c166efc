"""Field-policy tables (migration 0021_fields): per workspace and role, the mode of each contact field."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from domain.clock import utcnow
from store.types import UTCDateTime


class FieldPolicyRow(SQLModel, table=True):
    """`fields` holds only restricted fields (`{"email": "masked", "attributes.ssn": "hidden"}`); no row: all
    visible."""

    __tablename__ = "field_policy"
    workspace_id: str = Field(primary_key=True, foreign_key="workspace.id", max_length=40)
    role: str = Field(primary_key=True, max_length=64)
    fields: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
