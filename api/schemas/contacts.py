"""Request and response bodies of the contacts API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from api.schemas.base import JsonAttributes, SafeInput
from domain.json_limits import clipped
from store.models import Contact


class ContactFields(SafeInput):
    external_id: str | None = Field(None, min_length=1, max_length=255)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, min_length=1, max_length=32)
    first_name: str | None = Field(None, max_length=200)
    last_name: str | None = Field(None, max_length=200)
    timezone: str | None = Field(None, description="IANA time zone, e.g. Europe/Paris", max_length=64)


class ContactCreate(ContactFields):
    attributes: JsonAttributes = Field(default_factory=dict)


class ContactUpdate(ContactFields):
    attributes: JsonAttributes | None = Field(
        None, description="Merged into the existing attributes; a key set to null is removed."
    )


class ContactPublic(BaseModel):
    id: str
    external_id: str | None
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    timezone: str | None
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @field_validator("attributes", mode="before")
    @classmethod
    def _readable(cls, value: Any) -> Any:
        # a row stored before attributes were bounded may be nested too deep to serialize: clip it on the way out
        return clipped(value)

    @classmethod
    def of(cls, contact: Contact) -> ContactPublic:
        return cls.model_validate(contact, from_attributes=True)
