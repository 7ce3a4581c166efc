"""Request and response bodies of the contacts API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    field_validator,
    model_serializer,
)

from api.field_policies.current import contact_view
from api.schemas.base import JsonAttributes, SafeInput
from domain.json_limits import clipped
from store.models import Contact

Source = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,11}$")]
ExternalIdValue = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class ContactFields(SafeInput):
    external_id: str | None = Field(None, min_length=1, max_length=255)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, min_length=1, max_length=32)
    first_name: str | None = Field(None, max_length=200)
    last_name: str | None = Field(None, max_length=200)
    timezone: str | None = Field(None, description="IANA time zone, e.g. Europe/Paris", max_length=64)
    company_id: str | None = Field(
        None, max_length=40, description="The company it belongs to (an id of /v1/companies); null unlinks it."
    )
    external_ids: dict[Source, ExternalIdValue | None] | None = Field(
        None,
        max_length=20,
        description='External ids per source, e.g. {"crm": "0031x00000A"}: unique per workspace and source; '
        "on an update a source set to null is removed, unnamed sources are kept.",
    )


class ContactCreate(ContactFields):
    attributes: JsonAttributes = Field(default_factory=dict)


class ContactUpdate(ContactFields):
    attributes: JsonAttributes | None = Field(
        None, description="Merged into the existing attributes; a key set to null is removed."
    )


_COLUMNS = ("external_id", "email", "phone", "first_name", "last_name", "timezone", "external_ids")
_FIELD_POLICY_DOC = "Absent when the key's role has it hidden; masked (`j***@example.com`) when masked."


class ContactPublic(BaseModel):
    """A contact as the request's key may read it: built only through `of`, which applies the role's field policy
    (api/field_policies/current.py). A hidden column is left unset and so absent from the JSON."""

    id: str
    external_id: str | None = Field(None, description=_FIELD_POLICY_DOC)
    email: str | None = Field(None, description=_FIELD_POLICY_DOC)
    phone: str | None = Field(None, description=_FIELD_POLICY_DOC)
    first_name: str | None = Field(None, description=_FIELD_POLICY_DOC)
    last_name: str | None = Field(None, description=_FIELD_POLICY_DOC)
    timezone: str | None = Field(None, description=_FIELD_POLICY_DOC)
    company_id: str | None = Field(None, description="The company it belongs to (GET /v1/companies/{id}).")
    external_ids: dict[str, str] = Field(default_factory=dict, description="External ids per source")
    attributes: dict[str, Any] = Field(description="Custom attributes; hidden ones absent, masked ones masked.")
    created_at: datetime
    updated_at: datetime
    merged_into: str | None = Field(
        None,
        description="Only when the contact asked for was merged: the survivor answering in its place (its `id`).",
    )

    @model_serializer(mode="wrap")
    def _without_hidden(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]  # no return type: the JSON schema stays the model's
        data = handler(self)
        if isinstance(data, dict):
            for name in _COLUMNS:
                if name not in self.model_fields_set:
                    data.pop(name, None)
            if data.get("merged_into") is None:
                data.pop("merged_into", None)
        return data

    @field_validator("attributes", mode="before")
    @classmethod
    def _readable(cls, value: Any) -> Any:
        # a row stored before attributes were bounded may be nested too deep to serialize: clip it on the way out
        return clipped(value)

    @classmethod
    def of(
        cls, contact: Contact, external_ids: dict[str, str] | None = None, *, merged_into: str | None = None
    ) -> ContactPublic:
        view = contact_view(representation(contact))
        if "external_id" in view:  # external ids per source are read as the external_id field is (hidden with it)
            view["external_ids"] = external_ids or {}
        public = cls.model_validate(view)
        if merged_into is not None:
            public.merged_into = merged_into
        return public


def representation(contact: Contact) -> dict[str, Any]:
    """Every field a contact shows, before any field policy."""
    return {
        "id": contact.id, "external_id": contact.external_id, "email": contact.email, "phone": contact.phone,
        "first_name": contact.first_name, "last_name": contact.last_name, "timezone": contact.timezone,
        "company_id": contact.company_id, "attributes": contact.attributes, "created_at": contact.created_at,
        "updated_at": contact.updated_at,
    }  # fmt: skip
