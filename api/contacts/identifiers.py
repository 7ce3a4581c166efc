"""A contact's identifiers on the API's write paths (POST and PATCH /v1/contacts): E.164 phones, the unique keys
the merge policy asks for, external ids per source, and the rule that a contact needs at least one identifier.

Uniqueness is left to the database (store/identity_keys.py): the row is written with its keys and a unique
constraint failing at the commit is answered 409 `contact_exists`, naming the contact that holds the value.
Two concurrent creates with one email give one contact and one 409, never two contacts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Conflict, Unprocessable
from domain.identity.identifiers import INVALID_PHONE, KEYED, NO_IDENTIFIER, e164, has_identifier
from store.contacts import holder, identity_count, phone_region
from store.identity_keys import stamp_keys
from store.identity_policy import merge_policy
from store.models import Contact

IDENTIFIERS = ("email", "phone", "external_id", "external_ids")


async def normalize_phone(session: AsyncSession, workspace_id: str, values: dict[str, Any]) -> None:
    """`phone` in E.164 (a number without its `+` country code is read in the workspace calendar's country);
    422 `invalid_phone` otherwise."""
    raw = values.get("phone")
    if raw is None:
        return
    region = None if raw.strip().startswith("+") else await phone_region(session, workspace_id)
    phone = e164(raw, region)
    if phone is None:
        hint = "" if region else " (write it with its +country code, or set the workspace calendar's country)"
        raise Unprocessable(f"{raw!r} is not a valid phone number{hint}", code=INVALID_PHONE)
    values["phone"] = phone


async def require_identifier(
    session: AsyncSession, contact: Contact, external: dict[str, str | None], *, stored: bool
) -> None:
    """422 `no_identifier` for a contact nothing can find again: no email, phone, external id, nor any identity
    (anonymous id, `ext:<source>` id) kept or being written."""
    named = [source for source, value in external.items() if value is not None]
    if has_identifier(contact.email, contact.phone, contact.external_id, named):
        return
    removed = sum(1 for value in external.values() if value is None)
    if stored and await identity_count(session, contact.id) > removed:
        return
    raise Unprocessable(
        "a contact needs at least one identifier: email, phone, external_id or external_ids",
        code=NO_IDENTIFIER,
        details={"fields": list(IDENTIFIERS)},
    )


async def stamp(session: AsyncSession, contact: Contact, written: Collection[str] = KEYED) -> None:
    """The contact's unique keys, by the workspace merge policy: of the identifiers `written` (all on a create)."""
    if any(name in written for name in KEYED):
        stamp_keys(contact, (await merge_policy(session, contact.workspace_id)).unique, written)


class Guard:
    """Commits the contact's writes; remembers what it wrote, to name the holder of a value after a failure (the
    rollback expires the contact's attributes)."""

    def __init__(self, session: AsyncSession, contact: Contact) -> None:
        self._session = session
        self._contact = contact
        self.probe = self._snapshot()

    def _snapshot(self) -> Contact:
        c = self._contact
        return Contact(
            id=c.id,
            workspace_id=c.workspace_id,
            email_key=c.email_key,
            phone_key=c.phone_key,
            external_id=c.external_id,
        )

    async def commit(self) -> None:
        self.probe = self._snapshot()
        await self._session.commit()


@asynccontextmanager
async def identifier_conflicts(
    session: AsyncSession, workspace_id: str, contact: Contact, external: dict[str, str | None]
) -> AsyncIterator[Guard]:
    """Around the writes (made without autoflush, so a conflict surfaces at the commit) and `Guard.commit`: a
    unique identifier another contact holds -> 409 `contact_exists` with that contact's id."""
    guard = Guard(session, contact)
    try:
        with session.no_autoflush:
            yield guard
    except IntegrityError as exc:
        await session.rollback()
        found = await holder(session, workspace_id, guard.probe, external)
        existing = found.id if isinstance(found, Contact) else found
        if existing is None:
            raise Conflict("a contact with one of these identifiers already exists", code="contact_exists") from exc
        raise Conflict(
            f"contact {existing} already has one of these unique identifiers",
            code="contact_exists",
            details={"contact_id": existing},
        ) from exc
