"""Outbound webhook endpoints: CRUD, secret rotation, deliveries with their attempts, redelivery."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.deps import (
    AppSettings,
    Interest,
    Secrets,
    Session,
    Temporal,
    Waker,
    WebhooksDelete,
    WebhooksRead,
    WebhooksWrite,
)
from api.outbound_webhooks.service import WebhookEndpointService
from api.pagination import Cursor, Page, page_of
from api.schemas.webhook_endpoints import (
    AttemptPublic,
    DeliveryDetail,
    DeliveryPublic,
    EndpointCreate,
    EndpointPublic,
    EndpointUpdate,
    EndpointWithSecret,
)
from api.validation import ResourceId
from domain.outbound_webhooks.retry import DeliveryStatus

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["outbound webhooks"])


def endpoint_service(
    settings: AppSettings, box: Secrets, interest: Interest, waker: Waker, temporal: Temporal
) -> WebhookEndpointService:
    return WebhookEndpointService(settings, box, interest, waker, temporal)


Service = Annotated[WebhookEndpointService, Depends(endpoint_service)]
Limit = Annotated[int, Query(ge=1, le=500)]


def _with_secret(row: EndpointPublic, secret: str) -> EndpointWithSecret:
    return EndpointWithSecret(**row.model_dump(), secret=secret)


@router.post("", status_code=201)
async def create_endpoint(
    body: EndpointCreate, principal: WebhooksWrite, session: Session, service: Service
) -> EndpointWithSecret:
    """Subscribe an https endpoint; the answer carries its signing secret, shown only this once."""
    row, secret = await service.create(session, principal.workspace_id, body, principal.role)
    return _with_secret(EndpointPublic.of(row), secret)


@router.get("")
async def list_endpoints(
    principal: WebhooksRead, session: Session, service: Service, cursor: Cursor = None, limit: Limit = 50
) -> Page[EndpointPublic]:
    rows = await service.page(session, principal.workspace_id, cursor, limit + 1)
    page, next_cursor = page_of(rows, limit)
    return Page[EndpointPublic](data=[EndpointPublic.of(r) for r in page], next_cursor=next_cursor)


@router.get("/{endpoint_id}")
async def read_endpoint(
    endpoint_id: ResourceId, principal: WebhooksRead, session: Session, service: Service
) -> EndpointPublic:
    return EndpointPublic.of(await service.get(session, principal.workspace_id, endpoint_id))


@router.patch("/{endpoint_id}")
async def update_endpoint(
    endpoint_id: ResourceId, body: EndpointUpdate, principal: WebhooksWrite, session: Session, service: Service
) -> EndpointPublic:
    return EndpointPublic.of(await service.update(session, principal.workspace_id, endpoint_id, body))


@router.delete("/{endpoint_id}", status_code=204)
async def delete_endpoint(
    endpoint_id: ResourceId, principal: WebhooksDelete, session: Session, service: Service
) -> Response:
    """The endpoint and its delivery log."""
    await service.delete(session, principal.workspace_id, endpoint_id)
    return Response(status_code=204)


@router.post("/{endpoint_id}/rotate-secret")
async def rotate_secret(
    endpoint_id: ResourceId, principal: WebhooksWrite, session: Session, service: Service
) -> EndpointWithSecret:
    """A new secret, shown once; the old one keeps signing beside it for MAUNTIC_WEBHOOK_SECRET_OVERLAP_HOURS."""
    row, secret = await service.rotate(session, principal.workspace_id, endpoint_id)
    return _with_secret(EndpointPublic.of(row), secret)


@router.get("/{endpoint_id}/deliveries")
async def list_deliveries(
    endpoint_id: ResourceId,
    principal: WebhooksRead,
    session: Session,
    service: Service,
    status: DeliveryStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[DeliveryPublic]:
    rows = await service.deliveries(
        session, principal.workspace_id, endpoint_id, status.value if status else None, cursor, limit + 1
    )
    page, next_cursor = page_of(rows, limit)
    return Page[DeliveryPublic](data=[DeliveryPublic.of(r) for r in page], next_cursor=next_cursor)


@router.get("/{endpoint_id}/deliveries/{delivery_id}")
async def read_delivery(
    endpoint_id: ResourceId, delivery_id: ResourceId, principal: WebhooksRead, session: Session, service: Service
) -> DeliveryDetail:
    """A delivery and every attempt: status code, latency, error, time."""
    row, attempts = await service.delivery(session, principal.workspace_id, endpoint_id, delivery_id)
    public = DeliveryPublic.of(row)
    return DeliveryDetail(**public.model_dump(), attempt_log=[AttemptPublic.of(a) for a in attempts])


@router.post("/{endpoint_id}/deliveries/{delivery_id}/redeliver", status_code=202)
async def redeliver(
    endpoint_id: ResourceId, delivery_id: ResourceId, principal: WebhooksWrite, session: Session, service: Service
) -> DeliveryPublic:
    """Send it again (same webhook-id and body), whatever its status; it goes out in the background."""
    return DeliveryPublic.of(await service.redeliver(session, principal.workspace_id, endpoint_id, delivery_id))
