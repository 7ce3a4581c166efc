"""Contacts: create, read, update, delete, cursor-paginated list, lookup by email or external id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from api.companies.service import owned_company
from api.deps import ContactsDelete, ContactsRead, ContactsWrite, Interest, Session, Waker
from api.errors import Conflict, NotFound, Unprocessable
from api.field_policies.current import refuse_hidden_lookup, refuse_restricted_writes, request_policy
from api.pagination import Cursor, Page, page_of
from api.schemas.contacts import ContactCreate, ContactFields, ContactPublic, ContactUpdate
from api.validation import NO_NUL, ResourceId, normalized_email
from domain.access.fields import FieldMode, changed_fields
from domain.clock import utcnow
from domain.contacts.traits import is_valid_timezone
from domain.events.interest import OutboxKind
from domain.events.resolution import USER
from domain.ids import new_id
from store.contacts import (
    find_by_email,
    find_by_external_id,
    find_by_identity,
    get_contact,
    link_identity,
    list_contacts,
)
from store.models import Contact, ContactIdentity, JourneyEnrollment
from store.outbox import OutboxEvent, enqueue
from store.segments import leave_all

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])


async def _announce(session: Session, interest: Interest, contact: Contact, change: str) -> bool:
    """Queue a contact-change outbox row when a consumer asks for them (segments reading fields or attributes),
    in the caller's transaction; True when one was queued (wake the dispatcher after the commit)."""
    if not (await interest.of(contact.workspace_id)).contacts:
        return False
    now = utcnow()
    row = OutboxEvent(contact.workspace_id, contact.id, new_id("cc"), change, {}, now, OutboxKind.CONTACT)
    await enqueue(session, [row], now)
    return True


def _normalized(fields: ContactFields) -> dict[str, Any]:
    values = fields.model_dump(exclude_unset=True, exclude={"attributes"})
    if values.get("email") is not None:
        email = normalized_email(values["email"])
        if email is None:
            raise Unprocessable(f"{values['email']!r} is not a valid email address", code="invalid_email")
        values["email"] = email
    if values.get("timezone") is not None and not is_valid_timezone(values["timezone"]):
        raise Unprocessable(f"unknown time zone {values['timezone']!r}", code="invalid_timezone")
    return values


def _refuse_restricted(body: ContactFields, contact: Contact | None) -> None:
    """The role's read-only, masked and hidden fields may not be written (403 before anything is). On an update a
    read-only field sent back unchanged is no change; a hidden or masked one is refused whatever its value, or the
    answer would tell whether the value matched."""
    columns = body.model_dump(exclude_unset=True, exclude={"attributes"})
    attributes: dict[str, Any] = getattr(body, "attributes", None) or {}
    if contact is None:  # a create: what it sets
        columns = {k: v for k, v in columns.items() if v is not None}
    else:
        policy = request_policy()
        columns = {
            k: v for k, v in columns.items() if policy.mode(k) is not FieldMode.READ_ONLY or getattr(contact, k) != v
        }
        attributes = {
            k: v
            for k, v in attributes.items()
            if policy.mode(f"attributes.{k}") is not FieldMode.READ_ONLY or contact.attributes.get(k) != v
        }
    refuse_restricted_writes(changed_fields(columns, attributes))


IDENTIFIERS = ("email", "external_id", "phone")


def _require_identifier(contact: Contact) -> None:
    """A contact nothing can find again (no email, external id or phone) is never stored."""
    if not any(getattr(contact, name) for name in IDENTIFIERS):
        raise Unprocessable(
            "a contact needs at least one identifier: email, external_id or phone",
            code="contact_identifier_required",
            details={"fields": list(IDENTIFIERS)},
        )


async def _require_company(session: Session, workspace_id: str, values: dict[str, Any]) -> None:
    """A contact links only to a company of its workspace: 422 `company_not_found` otherwise."""
    company_id = values.get("company_id")
    if company_id is None:
        return
    try:
        await owned_company(session, workspace_id, company_id)
    except NotFound as exc:
        raise Unprocessable(f"no company {company_id}", code="company_not_found") from exc


async def _owned(session: Session, workspace_id: str, contact_id: str) -> Contact:
    contact = await get_contact(session, workspace_id, contact_id)
    if contact is None:
        raise NotFound(f"no contact {contact_id}", code="contact_not_found")
    return contact


@asynccontextmanager
async def _external_id_conflicts_as_409(session: Session) -> AsyncIterator[None]:
    try:
        yield
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict("a contact with that external_id already exists", code="contact_exists") from exc


@router.post("", status_code=201)
async def create_contact(
    body: ContactCreate, principal: ContactsWrite, session: Session, interest: Interest, waker: Waker
) -> ContactPublic:
    _refuse_restricted(body, None)
    values = _normalized(body)
    await _require_company(session, principal.workspace_id, values)
    contact = Contact(id=new_id("ct"), workspace_id=principal.workspace_id, attributes=body.attributes, **values)
    _require_identifier(contact)
    session.add(contact)
    if contact.external_id:
        session.add(
            ContactIdentity(
                workspace_id=principal.workspace_id, kind=USER, value=contact.external_id, contact_id=contact.id
            )
        )
    queued = await _announce(session, interest, contact, "created")
    async with _external_id_conflicts_as_409(session):
        await session.commit()
    if queued:
        waker.wake()
    return ContactPublic.of(contact)


@router.get("")
async def list_all(
    principal: ContactsRead,
    session: Session,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[ContactPublic]:
    rows = await list_contacts(session, principal.workspace_id, after=cursor, limit=limit + 1)
    page, next_cursor = page_of(rows, limit)
    return Page[ContactPublic](data=[ContactPublic.of(c) for c in page], next_cursor=next_cursor)


@router.get("/lookup")
async def lookup(
    principal: ContactsRead,
    session: Session,
    email: Annotated[str | None, Query(max_length=320, pattern=NO_NUL)] = None,
    external_id: Annotated[str | None, Query(max_length=255, pattern=NO_NUL)] = None,
) -> ContactPublic:
    """Find one contact by `email` (the most recently updated, if several share it) or by `external_id`."""
    if (email is None) == (external_id is None):
        raise Unprocessable("give exactly one of email or external_id", code="invalid_lookup")
    refuse_hidden_lookup("email" if email is not None else "external_id")
    if email is not None:
        contact = await find_by_email(session, principal.workspace_id, email.strip().lower())
        contact = contact or await find_by_email(session, principal.workspace_id, email.strip())
    else:
        contact = await find_by_external_id(session, principal.workspace_id, external_id or "")
        # a merged contact's user id lives on as an identity of its survivor (the identities moved)
        contact = contact or await find_by_identity(session, principal.workspace_id, USER, external_id or "")
    if contact is None:
        raise NotFound("no contact matches", code="contact_not_found")
    return ContactPublic.of(contact)


MAX_MERGE_HOPS = 16  # a survivor merged on in turn: follow the chain, boundedly


async def _survivor(session: Session, contact: Contact) -> Contact:
    """The contact a merged contact lives on as (itself when it was never merged)."""
    for _ in range(MAX_MERGE_HOPS):
        if not contact.merged_into:
            return contact
        following = await get_contact(session, contact.workspace_id, contact.merged_into)
        if following is None:
            return contact
        contact = following
    return contact


def _not_merged(contact: Contact) -> None:
    """A merged contact is read through its survivor and never written: 409 `contact_merged`."""
    if contact.merged_into:
        raise Conflict(
            f"contact {contact.id} was merged into {contact.merged_into}",
            code="contact_merged",
            details={"contact_id": contact.id, "merged_into": contact.merged_into},
        )


@router.get("/{contact_id}")
async def read_contact(contact_id: ResourceId, principal: ContactsRead, session: Session) -> ContactPublic:
    """A merged contact's id answers with its survivor (200, redirect semantics without a second request): the
    body is the survivor's, with `merged_into` set to the survivor's id. Unmerge restores the merged contact."""
    contact = await _owned(session, principal.workspace_id, contact_id)
    if not contact.merged_into:
        return ContactPublic.of(contact)
    survivor = await _survivor(session, contact)
    return ContactPublic.of(survivor, merged_into=survivor.id)


@router.patch("/{contact_id}")
async def update_contact(
    contact_id: ResourceId,
    body: ContactUpdate,
    principal: ContactsWrite,
    session: Session,
    interest: Interest,
    waker: Waker,
) -> ContactPublic:
    contact = await _owned(session, principal.workspace_id, contact_id)
    _not_merged(contact)
    _refuse_restricted(body, contact)
    values = _normalized(body)
    await _require_company(session, principal.workspace_id, values)
    for name, value in values.items():
        setattr(contact, name, value)
    _require_identifier(contact)
    if body.attributes is not None:
        merged = {**contact.attributes, **body.attributes}
        contact.attributes = {k: v for k, v in merged.items() if v is not None}
    contact.updated_at = utcnow()
    session.add(contact)
    queued = await _announce(session, interest, contact, "updated")
    async with _external_id_conflicts_as_409(session):
        if contact.external_id:
            await link_identity(session, principal.workspace_id, USER, contact.external_id, contact.id)
        await session.commit()
    if queued:
        waker.wake()
    return ContactPublic.of(contact)


@router.delete("/{contact_id}", status_code=204)
async def delete_contact(contact_id: ResourceId, principal: ContactsDelete, session: Session) -> Response:
    """Deletes the contact and its identities; it leaves its segments. Its events stay (append-only); a journey
    step that runs for a deleted contact skips its send and says so in the message log."""
    contact = await _owned(session, principal.workspace_id, contact_id)
    _not_merged(contact)  # its merge's history must stay undoable
    await session.execute(delete(ContactIdentity).where(col(ContactIdentity.contact_id) == contact.id))
    await session.execute(delete(JourneyEnrollment).where(col(JourneyEnrollment.contact_id) == contact.id))
    await session.delete(contact)
    await session.flush()
    await leave_all(session, principal.workspace_id, contact.id, utcnow())
    await session.commit()
    return Response(status_code=204)
