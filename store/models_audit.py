"""The audit log (migration 0021_audit): append-only entries chained per workspace, and each chain's head."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from store.types import UTCDateTime


class AuditEntry(SQLModel, table=True):
    """One audited write. `document` is the canonical JSON that was hashed (domain/audit/chain.py); the other
    columns repeat its fields for filtering and are checked against it by the verifier."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_target", "workspace_id", "target_type", "target_id"),
        Index("ix_audit_log_actor", "workspace_id", "actor"),
        Index("ix_audit_log_time", "workspace_id", "created_at"),
    )
    workspace_id: str = Field(primary_key=True, max_length=40)
    seq: int = Field(primary_key=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    actor: str = Field(max_length=200)
    action: str = Field(max_length=64)
    target_type: str = Field(max_length=64)
    target_id: str = Field(max_length=250)
    request_id: str | None = Field(default=None, max_length=128)
    document: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditChainHead(SQLModel, table=True):
    """The last sequence number and hash of a workspace's chain; locked by each append, so concurrent writers
    never fork the chain or reuse a number."""

    __tablename__ = "audit_chain_head"
    workspace_id: str = Field(primary_key=True, max_length=40)
    seq: int = 0
    hash: str = Field(max_length=64)
