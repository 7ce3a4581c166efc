"""Contacts and the identities (userId, anonymousId) they are known by."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.clock import utcnow
from domain.contacts.traits import split_traits
from domain.ids import new_id
from store.models import Contact, ContactIdentity

USER = "user"
ANONYMOUS = "anonymous"


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
    """Ids are time-ordered strings, so the last id of a page is the cursor of the next."""
    query = select(Contact).where(col(Contact.workspace_id) == workspace_id)
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


def apply_traits(contact: Contact, traits: dict[str, Any]) -> None:
    split = split_traits(traits)
    for column, value in split.columns.items():
        setattr(contact, column, value)
    if split.attributes:
        contact.attributes = {**contact.attributes, **split.attributes}
    contact.updated_at = utcnow()


@dataclass
class Resolved:
    contact: Contact
    created: bool


async def resolve_contact(
    session: AsyncSession, workspace_id: str, *, user_id: str | None, anonymous_id: str | None
) -> Resolved:
    """Find (or create) the contact a Segment message is about, and remember every id it came with.

    userId wins over anonymousId; an anonymous contact that later identifies keeps its history and gains the
    userId. Runs inside a savepoint so a concurrent creator of the same id makes us re-read, not fail.
    """
    for _ in range(3):
        try:
            async with session.begin_nested():
                return await _resolve_once(session, workspace_id, user_id, anonymous_id)
        except IntegrityError:
            continue
    raise RuntimeError("contact resolution kept conflicting")


async def _resolve_once(
    session: AsyncSession, workspace_id: str, user_id: str | None, anonymous_id: str | None
) -> Resolved:
    by_user = await _identity(session, workspace_id, USER, user_id) if user_id else None
    by_anon = await _identity(session, workspace_id, ANONYMOUS, anonymous_id) if anonymous_id else None
    created = False
    contact: Contact | None = None
    if by_user is not None:
        contact = await session.get(Contact, by_user.contact_id)
    elif by_anon is not None:
        contact = await session.get(Contact, by_anon.contact_id)
        if contact is not None and user_id and contact.external_id not in (None, user_id):
            contact = None  # that anonymous visitor is already someone else: this userId is a new person
    if contact is None:
        contact = Contact(id=new_id("ct"), workspace_id=workspace_id)
        session.add(contact)
        created = True
    if user_id and contact.external_id is None:
        contact.external_id = user_id
    await session.flush()
    if user_id and by_user is None:
        session.add(ContactIdentity(workspace_id=workspace_id, kind=USER, value=user_id, contact_id=contact.id))
    if anonymous_id and by_anon is None:
        session.add(
            ContactIdentity(workspace_id=workspace_id, kind=ANONYMOUS, value=anonymous_id, contact_id=contact.id)
        )
    await session.flush()
    return Resolved(contact=contact, created=created)


async def link_identity(session: AsyncSession, workspace_id: str, kind: str, value: str, contact_id: str) -> None:
    """Alias: make `value` another name of `contact_id` (no-op when it already names a contact)."""
    if await _identity(session, workspace_id, kind, value) is None:
        session.add(ContactIdentity(workspace_id=workspace_id, kind=kind, value=value, contact_id=contact_id))
        await session.flush()
