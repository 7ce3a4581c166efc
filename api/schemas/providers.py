"""Request and response bodies of the delivery providers API. Secrets go in, never out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from api.schemas.base import SafeInput
from domain.delivery.providers import Channel, ProviderType

ProviderName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")]


class ProviderCreate(SafeInput):
    name: ProviderName
    type: str = Field(description=f"One of {', '.join(t.value for t in ProviderType)}")
    channel: str = Field(description="email, sms or push; must be the channel the provider type serves")
    config: dict[str, Any] = Field(description="The provider type's configuration, secrets included")
    priority: int = Field(100, ge=0, le=10_000, description="Fallback order within the channel: lowest first")
    enabled: bool = True


class ProviderUpdate(SafeInput):
    name: ProviderName | None = None
    channel: str | None = None
    config: dict[str, Any] | None = Field(
        None, description="Fields to change; secret fields left out keep their stored value"
    )
    priority: int | None = Field(None, ge=0, le=10_000)
    enabled: bool | None = None


class ProviderPublic(BaseModel):
    id: str
    name: str
    type: ProviderType
    channel: Channel
    priority: int
    enabled: bool
    config: dict[str, Any] = Field(description="The configuration without its secret fields")
    secrets_set: list[str] | None = Field(
        description="Which secret fields hold a value; null when the stored secrets do not decrypt with this "
        "deployment's key (send the configuration again)"
    )
    webhook_url: str = Field(description="Where to point the provider's event webhook")
    created_at: datetime
    updated_at: datetime


class ProviderChain(BaseModel):
    channel: Channel
    providers: list[ProviderPublic] = Field(description="Enabled providers in the order a send tries them")
