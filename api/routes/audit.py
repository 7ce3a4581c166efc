"""The audit log: filtered pages, a streamed JSON-lines export and the hash chain's verification (Admin keys)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from api.audit import service
from api.context import AppContext
from api.deps import Admin, Session, app_context
from api.pagination import Cursor, Page
from api.schemas.audit import AuditEntryPublic, AuditVerification
from api.validation import as_utc
from store.audit_query import AuditFilter

router = APIRouter(prefix="/v1/audit", tags=["audit"])


def audit_filter(
    actor: Annotated[str | None, Query(max_length=200, description="e.g. `key:<key_id>`")] = None,
    target_type: Annotated[str | None, Query(max_length=64)] = None,
    target_id: Annotated[str | None, Query(max_length=250)] = None,
    since: Annotated[datetime | None, Query(description="Entries at or after this time")] = None,
    until: Annotated[datetime | None, Query(description="Entries before this time")] = None,
) -> AuditFilter:
    since, until = as_utc(since), as_utc(until)
    return AuditFilter(actor=actor, target_type=target_type, target_id=target_id, since=since, until=until)


Filter = Annotated[AuditFilter, Depends(audit_filter)]


@router.get("")
async def list_entries(
    principal: Admin,
    session: Session,
    where: Filter,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[AuditEntryPublic]:
    data, next_cursor = await service.page(session, principal.workspace_id, where, cursor, limit)
    return Page[AuditEntryPublic](data=data, next_cursor=next_cursor)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "One entry (JSON) per line"}},
)
async def export(
    principal: Admin, where: Filter, context: Annotated[AppContext, Depends(app_context)]
) -> StreamingResponse:
    """Every matching entry as JSON lines, in chain order, streamed (the same filters as the list)."""
    service.check(where)

    async def lines() -> AsyncIterator[bytes]:
        async with context.sessions() as session:  # its own session: the stream outlives the route
            async for line in service.export_lines(session, principal.workspace_id, where):
                yield line

    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'},
    )


@router.get("/verify")
async def verify(principal: Admin, session: Session) -> AuditVerification:
    """Walk the workspace's hash chain: `ok`, or each problem with the sequence number and kind
    (modified, deleted, reordered, broken)."""
    return await service.verification(session, principal.workspace_id)
