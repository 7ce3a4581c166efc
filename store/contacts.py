"""Contacts and the identities (userId, anonymousId) they are known by."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.clock import utcnow
from domain.contacts.traits import split_traits
from domain.delivery.email import COMPANY_FIELDS, CONTACT_FIELDS, contact_context
from domain.events.resolution import USER
from domain.identity.identifiers import EXTERNAL_PREFIX, email_key, source_kind
from store.models import Contact, ContactIdentity
from store.models_calendar import WorkspaceCalendar
from store.models_companies import Company


async def get_contact(session: AsyncSession, workspace_id: str, contact_id: str) -> Contact | None:
    contact = await session.get(Contact, contact_id)
    return contact if contact is not None and contact.workspace_id == workspace_id else None


async def find_by_external_id(session: AsyncSession, workspace_id: str, external_id: str) -> Contact | None:
    result = await session.execute(
        select(Contact).where(col(Contact.workspace_id) == workspace_id, col(Contact.external_id) == external_id)
    )
    return result.scalar_one_or_none()


async def find_by_email(session: AsyncSession, workspace_id: str, email: str) -> Contact | None:
    """The one contact holding the address (any case), by its unique key. Where the policy does not make email
    unique (no keys) or an older duplicate is asked for by its own spelling, the most recently updated unmerged
    contact with that address (GET /v1/identity/duplicates lists such groups)."""
    key = email_key(email)
    if key is None:
        return None
    result = await session.execute(
        select(Contact).where(col(Contact.workspace_id) == workspace_id, col(Contact.email_key) == key)
    )
    found = result.scalar_one_or_none()
    if found is not None:
        return found
    result = await session.execute(
        select(Contact)
        .where(
            col(Contact.workspace_id) == workspace_id,
            col(Contact.email).in_({email.strip(), key}),
            col(Contact.merged_into).is_(None),
        )
        .order_by(col(Contact.updated_at).desc(), col(Contact.id).desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def phone_region(session: AsyncSession, workspace_id: str) -> str | None:
    """The region a phone written without its `+` country code is read in: the workspace calendar's country
    (PUT /v1/workspace/calendar); None: such a number is refused."""
    result = await session.execute(
        select(col(WorkspaceCalendar.country)).where(col(WorkspaceCalendar.workspace_id) == workspace_id)
    )
    return result.scalar_one_or_none()


async def external_ids(session: AsyncSession, contact_ids: list[str]) -> dict[str, dict[str, str]]:
    """Per contact: its external ids per source (`{"crm": "0031"}`), from identities of kind `ext:<source>`."""
    if not contact_ids:
        return {}
    result = await session.execute(
        select(col(ContactIdentity.contact_id), col(ContactIdentity.kind), col(ContactIdentity.value)).where(
            col(ContactIdentity.contact_id).in_(set(contact_ids)),
            col(ContactIdentity.kind).startswith(EXTERNAL_PREFIX),
        )
    )
    found: dict[str, dict[str, str]] = {}
    for contact_id, kind, value in result:
        found.setdefault(contact_id, {})[kind.removeprefix(EXTERNAL_PREFIX)] = value
    return found


async def set_external_ids(
    session: AsyncSession, workspace_id: str, contact_id: str, values: dict[str, str | None]
) -> None:
    """Replace the contact's external id of each named source (None removes it); the caller commits, and a
    value another contact holds fails on the identities' unique constraint."""
    for source, value in values.items():
        await session.execute(
            delete(ContactIdentity).where(
                col(ContactIdentity.contact_id) == contact_id, col(ContactIdentity.kind) == source_kind(source)
            )
        )
        if value is not None:
            session.add(
                ContactIdentity(workspace_id=workspace_id, kind=source_kind(source), value=value, contact_id=contact_id)
            )


async def identity_count(session: AsyncSession, contact_id: str) -> int:
    result = await session.execute(
        select(func.count()).select_from(ContactIdentity).where(col(ContactIdentity.contact_id) == contact_id)
    )
    return int(result.scalar_one())


async def holder(
    session: AsyncSession, workspace_id: str, contact: Contact, external: dict[str, str | None]
) -> Contact | str | None:
    """Who else holds one of the contact's unique identifiers (after a unique-constraint failure): the contact,
    or the id a held external id names; None when nobody does (the failure was something else)."""
    conditions = [
        (col(Contact.email_key), contact.email_key),
        (col(Contact.phone_key), contact.phone_key),
        (col(Contact.external_id), contact.external_id),
    ]
    for column, value in conditions:
        if value is None:
            continue
        result = await session.execute(
            select(Contact).where(
                col(Contact.workspace_id) == workspace_id, column == value, col(Contact.id) != contact.id
            )
        )
        found = result.scalars().first()
        if found is not None:
            return found
    named = [(source_kind(source), value) for source, value in external.items() if value is not None]
    if contact.external_id:
        named.append((USER, contact.external_id))
    for kind, value in named:
        identity = await _identity(session, workspace_id, kind, value)
        if identity is not None and identity.contact_id != contact.id:
            return identity.contact_id
    return None


async def list_contacts(session: AsyncSession, workspace_id: str, *, after: str | None, limit: int) -> list[Contact]:
    """The workspace's contacts in id order, merged contacts left out (they read as their survivor)."""
    query = select(Contact).where(col(Contact.workspace_id) == workspace_id, col(Contact.merged_into).is_(None))
    if after:
        query = query.where(col(Contact.id) > after)
    result = await session.execute(query.order_by(col(Contact.id)).limit(limit))
    return list(result.scalars())


async def _identity(session: AsyncSession, workspace_id: str, kind: str, value: str) -> ContactIdentity | None:
    result = await session.execute(
        select(ContactIdentity).where(
            col(ContactIdentity.workspace_id) == workspace_id,
            col(ContactIdentity.kind) == kind,
            col(ContactIdentity.value) == value,
        )
    )
    return result.scalar_one_or_none()


async def find_by_identity(session: AsyncSession, workspace_id: str, kind: str, value: str) -> Contact | None:
    """The contact an identity (userId, anonymousId) names."""
    identity = await _identity(session, workspace_id, kind, value)
    return None if identity is None else await get_contact(session, workspace_id, identity.contact_id)


def apply_traits(contact: Contact, traits: dict[str, Any]) -> None:
    split = split_traits(traits)
    for column, value in split.columns.items():
        setattr(contact, column, value)
    if split.attributes:
        contact.attributes = {**contact.attributes, **split.attributes}
    contact.updated_at = utcnow()


async def link_identity(session: AsyncSession, workspace_id: str, kind: str, value: str, contact_id: str) -> None:
    """Alias: make `value` another name of `contact_id` (no-op when it already names a contact)."""
    if await _identity(session, workspace_id, kind, value) is None:
        session.add(ContactIdentity(workspace_id=workspace_id, kind=kind, value=value, contact_id=contact_id))


def contact_fields(contact: Contact) -> dict[str, Any]:
    """The contact as templates and conditions see it before flattening (domain.delivery.email.contact_context)."""
    return {name: getattr(contact, name) for name in (*CONTACT_FIELDS, "attributes")}


async def company_fields(session: AsyncSession, contact: Contact) -> dict[str, Any] | None:
    """The contact's company as templates see it (`company.name`, `company.attributes.plan`); None without one."""
    if contact.company_id is None:
        return None
    company = await session.get(Company, contact.company_id)
    if company is None or company.workspace_id != contact.workspace_id:
        return None
    return {name: getattr(company, name) for name in COMPANY_FIELDS}


async def contact_facts(session: AsyncSession, workspace_id: str, contact_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per contact: its fields and custom attributes in one flat mapping (the reserved fields win), what journey
    conditions on attributes are evaluated over."""
    result = await session.execute(
        select(Contact).where(col(Contact.workspace_id) == workspace_id, col(Contact.id).in_(set(contact_ids)))
    )
    return {c.id: contact_context(contact_fields(c))["contact"] for c in result.scalars()}
