"""Request and response bodies of the messages API (the message log, and resolving uncertain messages)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from store.models import MessageLog, MessageResolution


class MessageStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    UNCERTAIN = "uncertain"


class MessagePublic(BaseModel):
    id: str
    contact_id: str | None
    journey_id: str | None
    step_id: str | None
    channel: str
    to_address: str
    status: str
    error: str | None
    provider: str | None = Field(description="The provider that took the message (or had it when it became uncertain).")
    provider_message_id: str | None
    attempts: int
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, row: MessageLog) -> MessagePublic:
        return cls.model_validate(row, from_attributes=True)


class ResolveAction(StrEnum):
    MARK_SENT = "mark_sent"
    RESEND = "resend"


class ResolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: ResolveAction = Field(
        description="`mark_sent`: the operator knows it arrived. `resend`: send it once more, through the provider "
        "chain, as the journey would."
    )


class ResolutionPublic(BaseModel):
    id: str
    message_id: str
    action: str
    api_key_id: str
    created_at: datetime

    @classmethod
    def of(cls, row: MessageResolution) -> ResolutionPublic:
        return cls(
            id=row.id, message_id=row.message_log_id, action=row.action, api_key_id=row.api_key_id,
            created_at=row.created_at,
        )  # fmt: skip


class ResolveResponse(BaseModel):
    message: MessagePublic
    resolution: ResolutionPublic
