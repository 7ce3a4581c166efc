"""Tables of outbound webhooks: endpoints, deliveries (one per endpoint and announced event) and their attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from domain.clock import utcnow
from store.types import UTCDateTime


class WebhookEndpoint(SQLModel, table=True):
    """An https endpoint of a workspace and the event types it receives. The signing secret is encrypted at rest
    (mauntic.secrets.SecretBox); after a rotation the previous one signs too until `previous_secret_expires_at`."""

    __tablename__ = "webhook_endpoint"
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=40)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=500)
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    enabled: bool = True
    # the role of the key that created it: contact payloads are read under that role's field policy (0021_fields)
    role: str | None = Field(default=None, max_length=64)
    secret_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    previous_secret_encrypted: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    previous_secret_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint. The id is derived from (endpoint, source event), so queuing the same event
    twice is one row, and it is the `webhook-id` every attempt carries: receivers dedupe on it. The body is
    fixed when the row is written, so every attempt signs the same bytes."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint", "endpoint_id", "id"),
    )
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(max_length=40)
    endpoint_id: str = Field(max_length=40)
    event_type: str = Field(max_length=40)
    source_id: str = Field(max_length=200)  # the outbox row announcing it: kind, event id, contact
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16)  # domain.outbound_webhooks.retry.DeliveryStatus
    attempts: int = 0  # claimed so far (an attempt a killed worker left unanswered counts)
    max_attempts: int = 8  # dead after this many; a redelivery grants more
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class WebhookAttempt(SQLModel, table=True):
    """One HTTP attempt of a delivery: what the receiver answered (or why there was no answer) and how long."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (UniqueConstraint("delivery_id", "attempt", name="uq_webhook_attempt"),)
    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(max_length=40)
    attempt: int
    status_code: int | None = None
    latency_ms: float = 0.0
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    attempted_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
