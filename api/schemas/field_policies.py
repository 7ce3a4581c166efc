"""Bodies of the field-policy API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas.base import SafeInput
from domain.access.fields import MAX_POLICY_FIELDS, FieldMode

FIELDS_DOC = (
    "Contact field -> mode (visible, masked, hidden, read_only). Fields: external_id, email, phone, first_name, "
    "last_name, timezone, `attributes.<name>`, `attributes.*` (every attribute not named). Unnamed: visible."
)


class FieldPolicyPut(SafeInput):
    fields: dict[str, FieldMode] = Field(description=FIELDS_DOC, max_length=MAX_POLICY_FIELDS)


class FieldPolicyPublic(BaseModel):
    role: str
    fields: dict[str, FieldMode] = Field(description="The restricted fields (visible ones are not listed).")
    updated_at: datetime | None = Field(description="null: never set, everything visible.")
