"""Contact merges: merge two contacts, read a merge, a contact's merge history, unmerge (service:
api/identity/merges.py; the work: workflows/contact_merge.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import IdentityRead, IdentityWrite, Session, Temporal
from api.identity.merges import MergeService
from api.pagination import Cursor, Page, page_of
from api.schemas.identity import MergePublic, MergeRequest
from api.validation import ResourceId

router = APIRouter(tags=["identity"])
service = MergeService()


@router.post("/v1/contacts/merge", status_code=202)
async def merge_contacts(
    body: MergeRequest, principal: IdentityWrite, session: Session, temporal: Temporal
) -> MergePublic:
    """Merges `merged_id` into `survivor_id`: answers 202 with the merge (`running`); poll `GET /v1/merges/{id}`.
    409 `merge_conflict` names the unique identifiers whose values differ, 409 `contact_merged` when a contact
    was merged already, 422 `merge_same_contact` when both ids are one."""
    merge = await service.merge(session, temporal, principal.workspace_id, body.survivor_id, body.merged_id)
    return MergePublic.of(merge)


@router.get("/v1/merges/{merge_id}")
async def read_merge(
    merge_id: ResourceId, principal: IdentityRead, session: Session, temporal: Temporal
) -> MergePublic:
    return MergePublic.of(await service.get(session, temporal, principal.workspace_id, merge_id))


@router.get("/v1/contacts/{contact_id}/merges")
async def contact_merges(
    contact_id: ResourceId,
    principal: IdentityRead,
    session: Session,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[MergePublic]:
    """The merges the contact took part in, as survivor or as merged contact, oldest first."""
    rows = await service.history(session, principal.workspace_id, contact_id, after=cursor, limit=limit + 1)
    page, next_cursor = page_of(rows, limit)
    return Page[MergePublic](data=[MergePublic.of(m) for m in page], next_cursor=next_cursor)


@router.post("/v1/merges/{merge_id}/unmerge", status_code=202)
async def unmerge(merge_id: ResourceId, principal: IdentityWrite, session: Session, temporal: Temporal) -> MergePublic:
    """Undoes a completed merge: answers 202 (`undoing`), then `undone` once the rows moved back and both
    contacts' fields were restored."""
    return MergePublic.of(await service.unmerge(session, temporal, principal.workspace_id, merge_id))
