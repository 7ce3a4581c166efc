"""Segment-compatible HTTP Tracking API: /v1/identify, track, page, screen, group, alias and batch.

Wire-compatible with Segment's official libraries: the write key is the HTTP Basic user (or `writeKey` in the
body), bodies may be gzip-encoded, and success is exactly `{"success": true}`. Bodies are read as bytes here
(not by FastAPI) so their size is checked before any parsing; see api/ingest_service.py for batch semantics,
de-duplication and the outbox that hands events to journeys.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response, Security

from api.context import AppContext
from api.deps import WRITE_KEY_SCHEME, app_context
from api.ingest_auth import authenticate, body_write_key, header_write_key
from api.ingest_body import CHECKS, BadBody, decode_json, read_body
from api.ingest_service import ingest_service
from domain.clock import utcnow
from domain.events.fields import SegmentError
from domain.events.resolution import Refusal
from domain.events.segment import MessageType, RejectedMessage, parse_batch, parse_single

router = APIRouter(prefix="/v1", tags=["ingestion"], dependencies=[Security(WRITE_KEY_SCHEME)])

_SUCCESS = b'{"success": true}'
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "Invalid body: malformed_json, invalid_message, invalid_email, invalid_phone, "
        "identifier_conflict (an identify whose email or phone another contact holds as unique), "
        "message_too_large, batch_too_large (nothing stored; in a batch, an invalid message is set aside instead "
        "and the others are accepted)"
    },
    401: {"description": "Missing or invalid write key"},
    503: {"description": "The database could not store the request: retry (store_unavailable)"},
}


def _body_doc(description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
        }
    }


async def _ingest(request: Request, context: AppContext, kind: MessageType | None) -> Response:
    header_key = header_write_key(request)
    workspace_id = await authenticate(context, header_key) if header_key else None
    body = decode_json(await read_body(request, batch=kind is None), batch=kind is None)
    if workspace_id is None:
        workspace_id = await authenticate(context, body_write_key(body))
    received_at = utcnow()
    service = ingest_service(context)
    if kind is not None:
        try:
            message = parse_single(body, kind.value, received_at, CHECKS)
        except SegmentError as exc:
            invalid = RejectedMessage(None, exc.code, exc.message, body)
            await service.reject(workspace_id, kind.value, [invalid], received_at)
            raise BadBody(exc.message, code=exc.code) from None
        outcome = await service.ingest(workspace_id, [message])
        for why in outcome.refused.values():  # by the identity rules: recorded, and a 400 as a validation error
            await service.reject(
                workspace_id, kind.value, [RejectedMessage(None, why.code, why.reason, body)], received_at
            )
            raise BadBody(why.reason, code=why.code)
        return Response(_SUCCESS, media_type="application/json")
    try:
        batch = parse_batch(body, received_at, CHECKS)
    except SegmentError as exc:  # not a batch at all
        raise BadBody(exc.message, code=exc.code) from None
    rejected = list(batch.rejected)
    if batch.messages:
        outcome = await service.ingest(workspace_id, batch.messages)
        if outcome.refused:
            rejected += _refused(body, outcome.refused)
    if not rejected:
        return Response(_SUCCESS, media_type="application/json")
    await service.reject(workspace_id, "batch", rejected, received_at)
    return Response(
        orjson.dumps({"success": True, "rejected": len(rejected)}),
        media_type="application/json",
    )


def _refused(body: Any, refused: dict[str, Refusal]) -> list[RejectedMessage]:
    """Messages of a batch the identity rules refused, each with its place and raw form in the body."""
    items = body.get("batch") if isinstance(body, dict) else None
    found: list[RejectedMessage] = []
    for index, raw in enumerate(items if isinstance(items, list) else []):
        message_id = raw.get("messageId") if isinstance(raw, dict) else None
        why = refused.pop(message_id, None) if isinstance(message_id, str) else None
        if why is not None:
            found.append(RejectedMessage(index, why.code, why.reason, raw))
    # a message id the body did not carry as such (generated, or trimmed by validation)
    found += [RejectedMessage(None, why.code, why.reason, {"messageId": mid}) for mid, why in refused.items()]
    return found


def _endpoint(kind: MessageType) -> Any:
    async def endpoint(request: Request) -> Response:
        return await _ingest(request, app_context(request), kind)

    endpoint.__name__ = f"ingest_{kind.value}"
    endpoint.__doc__ = f"Record one Segment `{kind.value}` message."
    return endpoint


for _kind in MessageType:
    router.add_api_route(
        f"/{_kind.value}",
        _endpoint(_kind),
        methods=["POST"],
        summary=f"Segment {_kind.value}",
        responses=_ERRORS,
        openapi_extra=_body_doc(f"A Segment {_kind.value} message (max 32 KB)."),
    )


@router.post(
    "/batch",
    summary="Segment batch",
    responses=_ERRORS,
    openapi_extra=_body_doc('{"batch": [messages with a `type`], "context": {...}, "sentAt": ...} (max 500 KB)'),
)
async def ingest_batch(request: Request) -> Response:
    """Record many messages at once. Invalid messages are set aside (`rejected` counts them; see
    `GET /v1/ingest/rejections`) and the valid ones accepted, as Segment's API does."""
    return await _ingest(request, app_context(request), None)
