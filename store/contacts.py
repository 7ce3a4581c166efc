"""Contacts and the identities (userId, anonymousId) they are known by."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.clock import utcnow
from domain.contacts.traits import split_traits
from domain.delivery.email import COMPANY_FIELDS, CONTACT_FIELDS, contact_context
from store.models import Contact, ContactIdentity
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
    """Emails are not unique across contacts (identify may see one address under two users): newest wins."""
    result = await session.execute(
        select(Contact)
        .where(col(Contact.workspace_id) == workspace_id, col(Contact.email) == email)
        .order_by(col(Contact.updated_at).desc(), col(Contact.id).desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


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
