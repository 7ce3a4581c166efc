"""Companies (accounts) with custom attributes, and the contacts linked to each (service:
api/companies/service.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.companies.service import CompanyService, owned_company
from api.deps import ContactsRead, ContactsWrite, Interest, Session, Waker
from api.pagination import Cursor, Page, page_of
from api.schemas.companies import CompanyCreate, CompanyPublic, CompanyUpdate
from api.schemas.contacts import ContactPublic
from api.validation import ResourceId

router = APIRouter(prefix="/v1/companies", tags=["companies"])
_service = CompanyService()
Limit = Annotated[int, Query(ge=1, le=500)]


@router.post("", status_code=201)
async def create_company(body: CompanyCreate, principal: ContactsWrite, session: Session) -> CompanyPublic:
    """Creates a company; 409 `company_exists` when its domain or external_id is taken in the workspace."""
    company = await _service.create(
        session, principal.workspace_id, name=body.name, domain=body.domain, external_id=body.external_id,
        attributes=body.attributes,
    )  # fmt: skip
    return CompanyPublic.of(company)


@router.get("")
async def list_companies(
    principal: ContactsRead, session: Session, cursor: Cursor = None, limit: Limit = 50
) -> Page[CompanyPublic]:
    rows = await _service.page(session, principal.workspace_id, after=cursor, limit=limit + 1)
    page, next_cursor = page_of(rows, limit)
    return Page[CompanyPublic](data=[CompanyPublic.of(c) for c in page], next_cursor=next_cursor)


@router.get("/{company_id}")
async def read_company(company_id: ResourceId, principal: ContactsRead, session: Session) -> CompanyPublic:
    return CompanyPublic.of(await owned_company(session, principal.workspace_id, company_id))


@router.patch("/{company_id}")
async def update_company(
    company_id: ResourceId, body: CompanyUpdate, principal: ContactsWrite, session: Session, interest: Interest,
    waker: Waker,
) -> CompanyPublic:  # fmt: skip
    """Segments reading companies re-evaluate the company's contacts in real time (through the dispatcher)."""
    changes = body.model_dump(exclude_unset=True)
    wanted = await interest.of(principal.workspace_id)
    company, queued = await _service.update(session, principal.workspace_id, company_id, changes, wanted)
    if queued:
        waker.wake()
    return CompanyPublic.of(company)


@router.delete("/{company_id}", status_code=204)
async def delete_company(
    company_id: ResourceId, principal: ContactsWrite, session: Session, interest: Interest, waker: Waker
) -> Response:
    """Deletes the company; its contacts stay, unlinked (`company_id` null), and leave segments reading it."""
    if await _service.delete(session, principal.workspace_id, company_id, await interest.of(principal.workspace_id)):
        waker.wake()
    return Response(status_code=204)


@router.get("/{company_id}/contacts")
async def company_contacts(
    company_id: ResourceId, principal: ContactsRead, session: Session, cursor: Cursor = None, limit: Limit = 50
) -> Page[ContactPublic]:
    rows = await _service.contacts(session, principal.workspace_id, company_id, after=cursor, limit=limit + 1)
    page, next_cursor = page_of(rows, limit)
    return Page[ContactPublic](data=[ContactPublic.of(c) for c in page], next_cursor=next_cursor)
