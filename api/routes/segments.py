"""Segments: CRUD, preview (count a filter without saving it), members, a contact's segments, history, refresh."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.context import AppContext
from api.deps import Interest, SegmentsDelete, SegmentsRead, SegmentsWrite, Session, Temporal, Waker, app_context
from api.pagination import Cursor, Page, encode_cursor, page_of, row_number
from api.schemas.segments import (
    ContactSegment,
    HistoryEntry,
    MemberPublic,
    PreviewCount,
    RefreshStarted,
    SegmentCreate,
    SegmentPreview,
    SegmentPublic,
    SegmentUpdate,
)
from api.segments.service import SegmentService, owned
from api.validation import ResourceId
from store.segments import history_page, members_page, segments_of, segments_of_contact

router = APIRouter(prefix="/v1", tags=["segments"])
Limit = Annotated[int, Query(ge=1, le=500)]


def segment_service(context: Annotated[AppContext, Depends(app_context)]) -> SegmentService:
    return context.segments


Service = Annotated[SegmentService, Depends(segment_service)]


async def _changed(session: Session, waker: Waker, interest: Interest, workspace_id: str) -> None:
    interest.forget(workspace_id)
    await waker.workspace_changed(session, workspace_id)


@router.post("/segments", status_code=201)
async def create_segment(
    body: SegmentCreate, principal: SegmentsWrite, session: Session, service: Service, waker: Waker, interest: Interest
) -> SegmentPublic:
    """Saves the filter and builds the membership; matching contacts enter (segment_entered) at once."""
    segment = await service.create(session, principal.workspace_id, body.name, body.filter)
    await _changed(session, waker, interest, principal.workspace_id)
    return SegmentPublic.of(segment)


@router.get("/segments")
async def list_segments(principal: SegmentsRead, session: Session) -> list[SegmentPublic]:
    return [SegmentPublic.of(row) for row in await segments_of(session, principal.workspace_id)]


@router.post("/segments/preview")
async def preview_segment(
    body: SegmentPreview, principal: SegmentsRead, session: Session, service: Service
) -> PreviewCount:
    """How many contacts the filter matches now; nothing is saved."""
    return PreviewCount(count=await service.preview(session, principal.workspace_id, body.filter))


@router.get("/segments/{segment_id}")
async def read_segment(segment_id: ResourceId, principal: SegmentsRead, session: Session) -> SegmentPublic:
    return SegmentPublic.of(await owned(session, principal.workspace_id, segment_id))


@router.patch("/segments/{segment_id}")
async def update_segment(
    segment_id: ResourceId,
    body: SegmentUpdate,
    principal: SegmentsWrite,
    session: Session,
    service: Service,
    waker: Waker,
    interest: Interest,
) -> SegmentPublic:
    segment = await service.update(session, principal.workspace_id, segment_id, body.name, body.filter)
    await _changed(session, waker, interest, principal.workspace_id)
    return SegmentPublic.of(segment)


@router.delete("/segments/{segment_id}", status_code=204)
async def delete_segment(
    segment_id: ResourceId,
    principal: SegmentsDelete,
    session: Session,
    service: Service,
    waker: Waker,
    interest: Interest,
) -> Response:
    await service.delete(session, principal.workspace_id, segment_id)
    await _changed(session, waker, interest, principal.workspace_id)
    return Response(status_code=204)


@router.get("/segments/{segment_id}/members")
async def list_members(
    segment_id: ResourceId, principal: SegmentsRead, session: Session, cursor: Cursor = None, limit: Limit = 50
) -> Page[MemberPublic]:
    await owned(session, principal.workspace_id, segment_id)
    rows = await members_page(session, segment_id, after=cursor, limit=limit + 1)
    members = [MemberPublic(id=row.contact_id, entered_at=row.entered_at) for row in rows]
    page, next_cursor = page_of(members, limit)
    return Page[MemberPublic](data=page, next_cursor=next_cursor)


@router.get("/segments/{segment_id}/history")
async def membership_history(
    segment_id: ResourceId, principal: SegmentsRead, session: Session, cursor: Cursor = None, limit: Limit = 50
) -> Page[HistoryEntry]:
    """Who entered and who left, newest first; `exited_at` is null while the contact is still a member."""
    await owned(session, principal.workspace_id, segment_id)
    rows = await history_page(session, segment_id, after=row_number(cursor), limit=limit + 1)
    page = rows[:limit]
    next_cursor = encode_cursor(str(page[-1].id)) if len(rows) > limit and page else None
    return Page[HistoryEntry](data=[HistoryEntry.of(r) for r in page], next_cursor=next_cursor)


@router.post("/segments/{segment_id}/refresh", status_code=202)
async def refresh_segment(
    segment_id: ResourceId, principal: SegmentsWrite, session: Session, service: Service, temporal: Temporal
) -> RefreshStarted:
    """Re-evaluates the segment over every contact now, as a workflow (its id is returned; the Temporal UI shows
    its progress)."""
    await owned(session, principal.workspace_id, segment_id)
    return RefreshStarted(workflow_id=await service.refresh(temporal, principal.workspace_id, segment_id))


@router.get("/contacts/{contact_id}/segments")
async def contact_segments(contact_id: ResourceId, principal: SegmentsRead, session: Session) -> list[ContactSegment]:
    rows = await segments_of_contact(session, principal.workspace_id, contact_id)
    return [ContactSegment(segment_id=row.segment_id, entered_at=row.entered_at) for row in rows]
