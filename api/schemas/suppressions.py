"""Request and response bodies of the suppression-list API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.base import SafeInput
from domain.delivery.providers import Channel
from store.models import Suppression


class SuppressionCreate(SafeInput):
    channel: Channel
    address: str = Field(min_length=1, max_length=320, description="Email address, E.164 number or push token")
    reason: Literal["manual"] = "manual"


class SuppressionPublic(BaseModel):
    channel: Channel
    address: str
    reason: str = Field(description="hard_bounce, complaint, unsubscribed or manual")
    source: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: Suppression) -> SuppressionPublic:
        return cls.model_validate(row, from_attributes=True)
