"""Companies (accounts) with custom attributes (migration 0040_companies); contacts point at one through
`contact.company_id`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from domain.clock import utcnow
from store.types import UTCDateTime


class Company(SQLModel, table=True):
    """`domain` and `external_id` are each unique per workspace when set (NULLs never collide)."""

    __tablename__ = "company"
    __table_args__ = (
        UniqueConstraint("workspace_id", "domain", name="uq_company_domain"),
        UniqueConstraint("workspace_id", "external_id", name="uq_company_external_id"),
    )
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=40)
    name: str = Field(max_length=200)
    domain: str | None = Field(default=None, max_length=253)
    external_id: str | None = Field(default=None, max_length=255)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
