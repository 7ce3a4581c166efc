"""Send-policy tables (migration 0019): the workspace default policy, and the reservations frequency caps
count.

`send_reservation` is one row per send that passed the gate, keyed by the send's idempotency key (a retried gate
call finds its reservation and is allowed again, counting once). `send_counter` is one row per contact that
serialises the gate: the check and the reservation happen in the transaction holding that row's lock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from domain.clock import utcnow
from store.types import UTCDateTime


def _ts(nullable: bool = False) -> Any:
    return Field(default_factory=None if nullable else utcnow, sa_column=Column(UTCDateTime(), nullable=nullable))


class WorkspaceSendPolicyRow(SQLModel, table=True):
    __tablename__ = "workspace_send_policy"
    workspace_id: str = Field(primary_key=True, max_length=40)
    policy: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _ts()


class SendCounter(SQLModel, table=True):
    __tablename__ = "send_counter"
    workspace_id: str = Field(primary_key=True, max_length=40)
    contact_id: str = Field(primary_key=True, max_length=40)
    reservations: int = 0


class SendReservation(SQLModel, table=True):
    __tablename__ = "send_reservation"
    __table_args__ = (Index("ix_send_reservation_contact", "workspace_id", "contact_id", "channel", "reserved_at"),)
    idempotency_key: str = Field(primary_key=True, max_length=255)
    workspace_id: str = Field(max_length=40)
    contact_id: str = Field(max_length=40)
    channel: str = Field(max_length=16)
    journey_id: str | None = Field(default=None, max_length=40)
    reserved_at: datetime = _ts()
