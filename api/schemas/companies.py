"""Request and response bodies of the companies API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from api.schemas.base import JsonAttributes, SafeInput
from domain.companies.traits import DOMAIN_PATTERN
from domain.json_limits import clipped
from store.models_companies import Company


class CompanyCreate(SafeInput):
    name: str = Field(min_length=1, max_length=200)
    domain: str | None = Field(None, max_length=253, pattern=DOMAIN_PATTERN, description="e.g. acme.com")
    external_id: str | None = Field(None, min_length=1, max_length=255)
    attributes: JsonAttributes = Field(default_factory=dict)


class CompanyUpdate(SafeInput):
    name: str | None = Field(None, min_length=1, max_length=200)
    domain: str | None = Field(None, max_length=253, pattern=DOMAIN_PATTERN)
    external_id: str | None = Field(None, min_length=1, max_length=255)
    attributes: JsonAttributes | None = Field(
        None, description="Merged into the existing attributes; a key set to null is removed."
    )


class CompanyPublic(BaseModel):
    id: str
    name: str
    domain: str | None
    external_id: str | None
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @field_validator("attributes", mode="before")
    @classmethod
    def _readable(cls, value: Any) -> Any:
        return clipped(value)

    @classmethod
    def of(cls, company: Company) -> CompanyPublic:
        return cls.model_validate(company, from_attributes=True)
