"""Consent tables (migration 0021_consent): topics, the current state per (contact, channel, topic), its append-only
history and the workspace's consent settings. Topic "" is the channel itself (a NULL would defeat the unique key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from domain.clock import utcnow
from store.types import UTCDateTime


def _ts() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ConsentTopic(SQLModel, table=True):
    __tablename__ = "consent_topic"
    __table_args__ = (UniqueConstraint("workspace_id", "key", name="uq_consent_topic_key"),)
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", max_length=40)
    key: str = Field(max_length=64)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    channels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts()


class ContactConsent(SQLModel, table=True):
    __tablename__ = "contact_consent"
    __table_args__ = (
        UniqueConstraint("workspace_id", "contact_id", "channel", "topic", name="uq_contact_consent"),
        Index("ix_contact_consent_contact", "contact_id"),
    )
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", max_length=40)
    contact_id: str = Field(max_length=40)
    channel: str = Field(max_length=16)
    topic: str = Field(default="", max_length=64)
    status: str = Field(max_length=16)
    source: str = Field(max_length=32)
    legal_basis: str = Field(max_length=32)
    updated_at: datetime = _ts()


class ConsentHistory(SQLModel, table=True):
    """Append-only: one row per change, never updated (a merge re-points contact_id, which is not a change)."""

    __tablename__ = "consent_history"
    __table_args__ = (Index("ix_consent_history_contact", "contact_id", "recorded_at"),)
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", max_length=40)
    contact_id: str = Field(max_length=40)
    channel: str = Field(max_length=16)
    topic: str = Field(default="", max_length=64)
    previous_status: str | None = Field(default=None, max_length=16)
    status: str = Field(max_length=16)
    source: str = Field(max_length=32)
    legal_basis: str = Field(max_length=32)
    note: str | None = Field(default=None, max_length=500)
    recorded_at: datetime = _ts()


class WorkspaceConsentSettings(SQLModel, table=True):
    __tablename__ = "workspace_consent_settings"
    workspace_id: str = Field(primary_key=True, foreign_key="workspace.id", max_length=40)
    # {"email": "opt_in", ...}; a channel absent is opt_out
    modes: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    double_opt_in: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _ts()
