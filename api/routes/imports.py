"""CSV imports: upload (streamed raw `text/csv` body, mapping in the `Import-Mapping` header or `?mapping=`),
progress, and the per-row errors as CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import AppSettings, ContactsRead, ContactsWrite, Session, Temporal
from api.errors import Unprocessable
from api.field_policies.current import request_policy
from api.imports.service import ImportService, parsed_mapping
from api.schemas.imports import ImportPublic
from api.validation import NO_NUL, ResourceId

router = APIRouter(prefix="/v1/imports", tags=["imports"])
service = ImportService()


@router.post("", status_code=202)
async def start_import(
    request: Request,
    principal: ContactsWrite,
    session: Session,
    temporal: Temporal,
    settings: AppSettings,
    mapping: Annotated[str | None, Query(max_length=65536, pattern=NO_NUL)] = None,
    import_mapping: Annotated[str | None, Header(max_length=65536, pattern=NO_NUL)] = None,
    filename: Annotated[str | None, Query(max_length=255, pattern=NO_NUL)] = None,
) -> ImportPublic:
    """The request body is the CSV file itself (`Content-Type: text/csv`), its first line the header; the mapping
    is a JSON object from column to target (see README). Answers 202 with the import; poll GET /v1/imports/{id}."""
    content_type = request.headers.get("content-type", "text/csv").split(";")[0].strip().lower()
    if content_type not in ("text/csv", "application/csv", "application/octet-stream", "text/plain"):
        raise Unprocessable("send the CSV file as the body, Content-Type: text/csv", code="invalid_content_type")
    parsed = parsed_mapping(import_mapping or mapping)
    row = await service.upload(
        session,
        temporal,
        principal.workspace_id,
        parsed,
        filename,
        request.stream(),
        settings.import_chunk_rows,
        settings.import_heartbeat_seconds,
    )
    return ImportPublic.of(row)


@router.get("/{import_id}")
async def read_import(import_id: ResourceId, principal: ContactsRead, session: Session) -> ImportPublic:
    return ImportPublic.of(await service.get(session, principal.workspace_id, import_id))


@router.get("/{import_id}/errors", response_class=StreamingResponse)
async def import_errors(import_id: ResourceId, principal: ContactsRead, session: Session) -> StreamingResponse:
    """The refused rows as CSV: `row` (1-based data row, blank lines skipped), `column`, `reason` (the values it
    quotes read '[hidden]' for a role with contact fields hidden or masked)."""
    found = await service.get(session, principal.workspace_id, import_id)
    return StreamingResponse(
        service.errors_csv(session, found.id, request_policy()),  # read now: the body streams after the route
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{found.id}-errors.csv"'},
    )
