"""Request and response bodies of the outbound webhooks API. The signing secret is shown once: on create and on
rotation."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from api.schemas.base import SafeInput
from domain.outbound_webhooks.events import WebhookEventType
from domain.outbound_webhooks.retry import DeliveryStatus
from store.models_webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint

EndpointUrl = Annotated[str, StringConstraints(min_length=8, max_length=2000, strip_whitespace=True)]
EventTypes = Annotated[list[WebhookEventType], Field(min_length=1, max_length=len(WebhookEventType))]


class EndpointCreate(SafeInput):
    url: EndpointUrl = Field(description="https:// URL that receives the signed deliveries")
    event_types: EventTypes = Field(description="What the endpoint receives")
    description: str = Field("", max_length=500)
    enabled: bool = True


class EndpointUpdate(SafeInput):
    url: EndpointUrl | None = None
    event_types: EventTypes | None = None
    description: str | None = Field(None, max_length=500)
    enabled: bool | None = None


class EndpointPublic(BaseModel):
    id: str
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    previous_secret_expires_at: datetime | None = Field(
        description="Until when the secret replaced by the last rotation still signs deliveries (beside the new one)"
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: WebhookEndpoint) -> EndpointPublic:
        return cls(
            id=row.id, url=row.url, description=row.description, event_types=list(row.event_types),
            enabled=row.enabled, previous_secret_expires_at=row.previous_secret_expires_at,
            created_at=row.created_at, updated_at=row.updated_at,
        )  # fmt: skip


class EndpointWithSecret(EndpointPublic):
    secret: str = Field(description="`whsec_<base64>`: the Standard Webhooks signing secret, shown only now")


class AttemptPublic(BaseModel):
    attempt: int
    status_code: int | None
    latency_ms: float
    error: str | None
    attempted_at: datetime

    @classmethod
    def of(cls, row: WebhookAttempt) -> AttemptPublic:
        return cls(
            attempt=row.attempt, status_code=row.status_code, latency_ms=row.latency_ms, error=row.error,
            attempted_at=row.attempted_at,
        )  # fmt: skip


class DeliveryPublic(BaseModel):
    id: str = Field(description="The `webhook-id` header of every attempt: receivers dedupe on it")
    endpoint_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="When the next attempt is due (pending only)")
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]

    @classmethod
    def of(cls, row: WebhookDelivery) -> DeliveryPublic:
        return cls(
            id=row.id, endpoint_id=row.endpoint_id, event_type=row.event_type, status=DeliveryStatus(row.status),
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at if row.status == DeliveryStatus.PENDING.value else None,
            last_status_code=row.last_status_code, last_error=row.last_error, created_at=row.created_at,
            delivered_at=row.delivered_at, payload=json.loads(row.body),
        )  # fmt: skip


class DeliveryDetail(DeliveryPublic):
    attempt_log: list[AttemptPublic] = Field(description="Every attempt, first first")
