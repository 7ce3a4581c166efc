"""The message log: list (filter by status, e.g. `uncertain`), read, and resolve an uncertain message."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.deps import DeliveryRead, DeliveryWrite, Session, Temporal
from api.messages.service import MessageService
from api.pagination import Cursor, Page, page_of
from api.schemas.messages import (
    MessagePublic,
    MessageStatus,
    ResolutionPublic,
    ResolveAction,
    ResolveRequest,
    ResolveResponse,
)
from api.validation import ResourceId

router = APIRouter(prefix="/v1/messages", tags=["messages"])


def message_service(temporal: Temporal) -> MessageService:
    return MessageService(temporal)


Service = Annotated[MessageService, Depends(message_service)]


@router.get("")
async def list_messages(
    principal: DeliveryRead,
    session: Session,
    service: Service,
    status: MessageStatus | None = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[MessagePublic]:
    rows = await service.page(session, principal.workspace_id, status.value if status else None, cursor, limit + 1)
    page, next_cursor = page_of(rows, limit)
    return Page[MessagePublic](data=[MessagePublic.of(row) for row in page], next_cursor=next_cursor)


@router.get("/{message_id}")
async def read_message(
    message_id: ResourceId, principal: DeliveryRead, session: Session, service: Service
) -> MessagePublic:
    return MessagePublic.of(await service.get(session, principal.workspace_id, message_id))


@router.post("/{message_id}/resolve", responses={409: {"description": "the message is not uncertain"}})
async def resolve_message(
    message_id: ResourceId,
    body: ResolveRequest,
    principal: DeliveryWrite,
    session: Session,
    service: Service,
    response: Response,
) -> ResolveResponse:
    """Resolve an `uncertain` message: `mark_sent`, or `resend` it once (202: the send runs in the background)."""
    row, resolution = await service.resolve(session, principal.workspace_id, message_id, body.action, principal.key_id)
    if body.action is ResolveAction.RESEND:
        response.status_code = 202
    return ResolveResponse(message=MessagePublic.of(row), resolution=ResolutionPublic.of(resolution))
