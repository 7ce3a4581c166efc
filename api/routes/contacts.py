"""Contacts: create, read, update, delete, cursor-paginated list, lookup by email or external id."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import delete
from sqlmodel import col

from api.companies.service import owned_company
from api.contacts.identifiers import identifier_conflicts, normalize_phone, require_identifier, stamp
from api.deps import ContactsDelete, ContactsRead, ContactsWrite, Interest, Session, Waker
from api.errors import NotFound, Unprocessable
from api.field_policies.current import refuse_hidden_lookup, refuse_restricted_writes, request_policy
from api.identity.merges import refuse_merged
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
    external_ids,
    find_by_email,
    find_by_external_id,
    find_by_identity,
    get_contact,
    link_identity,
    list_contacts,
    set_external_ids,
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
    values = fields.model_dump(exclude_unset=True, exclude={"attributes", "external_ids"})
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
    columns = body.model_dump(exclude_unset=True, exclude={"attributes", "external_ids"})
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
    changes = changed_fields(columns, attributes)
    if body.external_ids and "external_id" not in changes:  # external ids per source: the external_id field's rule
        changes.append("external_id")
    refuse_restricted_writes(changes)


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


@router.post("", status_code=201)
async def create_contact(
    body: ContactCreate, principal: ContactsWrite, session: Session, interest: Interest, waker: Waker
) -> ContactPublic:
    """Creates a contact. 409 `contact_exists` (with the holder's `contact_id`) when another contact holds one of
    its unique identifiers (email by default, external_id, external_ids, phone when the policy says so); 422
    `no_identifier` without any identifier, `invalid_phone` for a phone that is no valid number."""
    _refuse_restricted(body, None)
    values = _normalized(body)
    await normalize_phone(session, principal.workspace_id, values)
    await _require_company(session, principal.workspace_id, values)
    external: dict[str, str | None] = {k: v for k, v in (body.external_ids or {}).items() if v is not None}
    contact = Contact(id=new_id("ct"), workspace_id=principal.workspace_id, attributes=body.attributes, **values)
    await require_identifier(session, contact, external, stored=False)
    await stamp(session, contact)
    session.add(contact)
    if contact.external_id:
        session.add(
            ContactIdentity(
                workspace_id=principal.workspace_id, kind=USER, value=contact.external_id, contact_id=contact.id
            )
        )
    async with identifier_conflicts(session, principal.workspace_id, contact, dict(external)) as guard:
        await set_external_ids(session, principal.workspace_id, contact.id, dict(external))
        queued = await _announce(session, interest, contact, "created")
        await guard.commit()
    if queued:
        waker.wake()
    return ContactPublic.of(contact, {k: v for k, v in external.items() if v is not None})


@router.get("")
async def list_all(
    principal: ContactsRead,
    session: Session,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[ContactPublic]:
    rows = await list_contacts(session, principal.workspace_id, after=cursor, limit=limit + 1)
    page, next_cursor = page_of(rows, limit)
    ids = await external_ids(session, [c.id for c in page])
    return Page[ContactPublic](data=[ContactPublic.of(c, ids.get(c.id)) for c in page], next_cursor=next_cursor)


@router.get("/lookup")
async def lookup(
    principal: ContactsRead,
    session: Session,
    email: Annotated[str | None, Query(max_length=320, pattern=NO_NUL)] = None,
    external_id: Annotated[str | None, Query(max_length=255, pattern=NO_NUL)] = None,
) -> ContactPublic:
    """Find the contact holding `email` (any case; unique per workspace by default) or `external_id`."""
    if (email is None) == (external_id is None):
        raise Unprocessable("give exactly one of email or external_id", code="invalid_lookup")
    refuse_hidden_lookup("email" if email is not None else "external_id")
    if email is not None:
        contact = await find_by_email(session, principal.workspace_id, email)
    else:
        contact = await find_by_external_id(session, principal.workspace_id, external_id or "")
        # a merged contact's user id lives on as an identity of its survivor (the identities moved)
        contact = contact or await find_by_identity(session, principal.workspace_id, USER, external_id or "")
    if contact is None:
        raise NotFound("no contact matches", code="contact_not_found")
    return await _public(session, contact)


async def _public(session: Session, contact: Contact) -> ContactPublic:
    return ContactPublic.of(contact, (await external_ids(session, [contact.id])).get(contact.id))


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


@router.get("/{contact_id}")
async def read_contact(contact_id: ResourceId, principal: ContactsRead, session: Session) -> ContactPublic:
    """A merged contact's id answers with its survivor (200, redirect semantics without a second request): the
    body is the survivor's, with `merged_into` set to the survivor's id. Unmerge restores the merged contact."""
    contact = await _owned(session, principal.workspace_id, contact_id)
    if not contact.merged_into:
        return await _public(session, contact)
    survivor = await _survivor(session, contact)
    return ContactPublic.of(
        survivor, (await external_ids(session, [survivor.id])).get(survivor.id), merged_into=survivor.id
    )


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
    refuse_merged(contact)
    _refuse_restricted(body, contact)
    values = _normalized(body)
    await normalize_phone(session, principal.workspace_id, values)
    await _require_company(session, principal.workspace_id, values)
    external = dict(body.external_ids or {})
    async with identifier_conflicts(session, principal.workspace_id, contact, external) as guard:
        for name, value in values.items():
            setattr(contact, name, value)
        await require_identifier(session, contact, external, stored=True)
        await stamp(session, contact, values.keys())
        if body.attributes is not None:
            merged = {**contact.attributes, **body.attributes}
            contact.attributes = {k: v for k, v in merged.items() if v is not None}
        contact.updated_at = utcnow()
        session.add(contact)
        queued = await _announce(session, interest, contact, "updated")
        if contact.external_id:
            await link_identity(session, principal.workspace_id, USER, contact.external_id, contact.id)
        await set_external_ids(session, principal.workspace_id, contact.id, external)
        await guard.commit()
    if queued:
        waker.wake()
    return await _public(session, contact)


@router.delete("/{contact_id}", status_code=204)
async def delete_contact(contact_id: ResourceId, principal: ContactsDelete, session: Session) -> Response:
    """Deletes the contact and its identities; it leaves its segments. Its events stay (append-only); a journey
    step that runs for a deleted contact skips its send and says so in the message log."""
    contact = await _owned(session, principal.workspace_id, contact_id)
    refuse_merged(contact)  # its merge's history must stay undoable
    await session.execute(delete(ContactIdentity).where(col(ContactIdentity.contact_id) == contact.id))
    await session.execute(delete(JourneyEnrollment).where(col(JourneyEnrollment.contact_id) == contact.id))
    await session.delete(contact)
    await session.flush()
    await leave_all(session, principal.workspace_id, contact.id, utcnow())
    await session.commit()
    return Response(status_code=204)
