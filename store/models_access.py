"""Access tables (migration 0021): users, their workspace memberships, and custom roles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from domain.clock import utcnow
from store.types import UTCDateTime


def _ts() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class User(SQLModel, table=True):
    """A person; the same user may belong to several workspaces (one membership each)."""

    __tablename__ = "app_user"
    id: str = Field(primary_key=True, max_length=40)
    email: str = Field(unique=True, max_length=320)
    name: str = Field(max_length=200)
    created_at: datetime = _ts()


class Membership(SQLModel, table=True):
    __tablename__ = "membership"
    __table_args__ = (Index("ix_membership_user", "user_id"),)
    workspace_id: str = Field(primary_key=True, max_length=40)
    user_id: str = Field(primary_key=True, max_length=40)
    role: str = Field(max_length=64)  # a built-in role name or a custom role's name in the workspace
    created_at: datetime = _ts()


class Role(SQLModel, table=True):
    """A workspace's custom role: a name (never a built-in's) and a set of `resource:action` permissions."""

    __tablename__ = "access_role"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_access_role_name"),)
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(max_length=40)
    name: str = Field(max_length=64)
    description: str = Field(default="", max_length=500)
    permissions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
