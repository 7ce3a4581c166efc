"""Request and response bodies of the messages API (the message log, and resolving uncertain messages)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from api.field_policies.current import request_policy
from domain.access.fields import read_address
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
    to_address: str | None = Field(
        description="Masked (`j***@example.com`) or null when the key's role has the address's contact field "
        "(email, phone, attributes.push_token) masked or hidden."
    )
    status: str
    error: str | None
    provider: str | None = Field(description="The provider that took the message (or had it when it became uncertain).")
    provider_message_id: str | None
    attempts: int
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, row: MessageLog) -> MessagePublic:
        """As the request's role may read it: the address under the field policy of the field it came from, and
        not repeated unmasked in a provider's error."""
        shown = read_address(request_policy(), row.channel, row.to_address)
        error = row.error
        if error and row.to_address and shown != row.to_address:
            error = error.replace(row.to_address, shown or "[hidden]")
        return cls.model_validate({**cls._columns(row), "to_address": shown, "error": error})

    @classmethod
    def _columns(cls, row: MessageLog) -> dict[str, object]:
        return {name: getattr(row, name) for name in cls.model_fields}


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
