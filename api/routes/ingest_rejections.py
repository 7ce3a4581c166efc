"""Messages ingestion set aside: what was refused, why, and the message as it came (newest first)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import EventsRead, Session
from api.pagination import Cursor, Page, page_of, row_number
from api.schemas.ingest import IngestRejectionPublic
from store.ingest_rejections import list_rejections

router = APIRouter(prefix="/v1/ingest", tags=["ingestion"])


@router.get("/rejections")
async def rejections(
    principal: EventsRead,
    session: Session,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[IngestRejectionPublic]:
    """Messages refused at ingestion, kept for `MAUNTIC_INGEST_REJECTIONS_RETENTION_DAYS` (the newest
    `MAUNTIC_INGEST_REJECTIONS_MAX_PER_WORKSPACE`). A batch's other messages were accepted."""
    rows = await list_rejections(session, principal.workspace_id, before=row_number(cursor), limit=limit + 1)
    page, next_cursor = page_of(rows, limit)
    return Page[IngestRejectionPublic](data=[IngestRejectionPublic.of(r) for r in page], next_cursor=next_cursor)
