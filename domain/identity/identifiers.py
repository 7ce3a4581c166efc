"""Identifiers of a contact and the keys that make some of them unique per workspace.

A contact is known by its `email`, its `phone` (E.164), its `external_id` (the app's user id), an anonymous id and
external ids per source (`ext:crm`, `ext:billing`). A contact with none of them is refused (`no_identifier`).

Uniqueness is the database's job, not a read-then-write: `email` and `phone` each have a nullable key column
(`contact.email_key`, `contact.phone_key`) under a unique index on (workspace, key). A key is set only while the
workspace merge policy lists the identifier as unique and the contact is not merged into another; it is the
value in the form two writers must agree on (the email lower-cased, the phone's E.164). `external_id` and the
identity kinds are unique by their own constraints, whatever the policy.
"""

from __future__ import annotations

from collections.abc import Collection

from domain.imports.normalize import normalize_phone

KEYED = ("email", "phone")  # identifiers kept unique through a key column, when the policy says so
EXTERNAL_PREFIX = "ext:"
NO_IDENTIFIER = "no_identifier"
IDENTIFIER_CONFLICT = "identifier_conflict"
INVALID_PHONE = "invalid_phone"


def email_key(email: str | None) -> str | None:
    """The form two spellings of one address share: `John@Example.com` and `john@example.com` are one contact."""
    if not email or not email.strip():
        return None
    return email.strip().lower()


def phone_key(phone: str | None) -> str | None:
    if not phone or not phone.strip():
        return None
    return phone.strip()


def key_of(identifier: str, value: str | None) -> str | None:
    return email_key(value) if identifier == "email" else phone_key(value)


def keys_for(
    unique: Collection[str], email: str | None, phone: str | None, merged_into: str | None
) -> tuple[str | None, str | None]:
    """(email_key, phone_key) a contact's row carries under a policy whose unique identifiers are `unique`."""
    if merged_into:
        return None, None
    return (email_key(email) if "email" in unique else None, phone_key(phone) if "phone" in unique else None)


def e164(value: str, region: str | None) -> str | None:
    """The E.164 form of a phone number, or None when it is not a valid number. A number written without its `+`
    country code is read as a number of `region` (ISO 3166-1 alpha-2); without a region it must carry one."""
    if not value or not value.strip():
        return None
    return normalize_phone(value.strip(), region.upper() if region else None)


def has_identifier(
    email: str | None, phone: str | None, external_id: str | None, identity_kinds: Collection[str] = ()
) -> bool:
    """Whether anything can find the contact again: a column identifier, or an identity (anonymous, ext:<source>)."""
    return bool(email or phone or external_id or identity_kinds)


def source_kind(source: str) -> str:
    """The identity kind of an external id of `source`: `crm` -> `ext:crm`."""
    return f"{EXTERNAL_PREFIX}{source}"
