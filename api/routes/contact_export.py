"""`GET /v1/contacts/export`: every contact (or a segment's members, or those changed since a time) streamed as
JSON lines or CSV, under the key's field policy; the export itself is recorded in the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from api.contacts.export import MEDIA_TYPES, ExportFormat, ExportRequest, export_chunks
from api.context import AppContext
from api.deps import ContactsExport, Session, app_context
from api.errors import Unprocessable
from api.field_policies.current import request_policy
from api.segments.service import owned
from api.validation import NO_NUL, as_utc
from domain.access.fields import valid_field_name
from domain.ids import new_id
from store.audit import record_audit

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/x-ndjson": {}, "text/csv": {}},
            "description": "One contact per line (JSON lines), or a CSV with a header row",
        }
    },
)
async def export_contacts(
    principal: ContactsExport,
    session: Session,
    context: Annotated[AppContext, Depends(app_context)],
    format: ExportFormat = ExportFormat.JSONL,
    segment_id: Annotated[str | None, Query(max_length=40, pattern=NO_NUL)] = None,
    updated_since: Annotated[datetime | None, Query(description="Only contacts updated at or after this")] = None,
    attribute: Annotated[
        list[str] | None,
        Query(max_length=100, description="CSV: an attribute as its own column `attributes.<name>` (repeatable)"),
    ] = None,
) -> StreamingResponse:
    """Stream the workspace's contacts in id order. A field the key's role has hidden is absent (no CSV column),
    a masked one masked. Merged-away contacts are left out."""
    names = tuple(attribute or ())
    for name in names:
        if not valid_field_name(f"attributes.{name}"):
            raise Unprocessable(f"{name!r} is not an attribute name", code="invalid_attribute")
    if segment_id is not None:
        await owned(session, principal.workspace_id, segment_id)
    request = ExportRequest(format=format, segment_id=segment_id, updated_since=as_utc(updated_since), attributes=names)
    export_id = new_id("exp")
    await record_audit(
        session,
        workspace_id=principal.workspace_id,
        action="contacts.exported",
        target_type="contact_export",
        target_id=export_id,
        after={"format": format.value, "segment_id": segment_id, "updated_since": updated_since, "attributes": names},
    )
    await session.commit()
    policy = request_policy()  # read here: the stream runs after the route returns

    async def chunks() -> AsyncIterator[bytes]:
        async with context.sessions() as stream_session:  # its own session: the stream outlives the route
            async for chunk in export_chunks(stream_session, principal.workspace_id, policy, request):
                yield chunk

    extension = "csv" if format is ExportFormat.CSV else "jsonl"
    return StreamingResponse(
        chunks(),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="contacts-{export_id}.{extension}"'},
    )
