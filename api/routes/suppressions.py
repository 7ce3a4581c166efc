"""The suppression list: addresses a workspace does not send to, per channel. List, look up, add, remove."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import DeliveryDelete, DeliveryRead, DeliveryWrite, Session
from api.errors import NotFound, Unprocessable
from api.pagination import Cursor, Page, page_of, row_number
from api.schemas.suppressions import SuppressionCreate, SuppressionPublic
from api.validation import normalized_email
from domain.delivery.providers import Channel
from store.suppressions import NewSuppression, list_suppressions, suppress, suppression_for, unsuppress

router = APIRouter(prefix="/v1/suppressions", tags=["suppressions"])

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_PUSH_TOKEN = re.compile(r"^[A-Za-z0-9_:.\-]{1,320}$")


def _channel(value: str) -> Channel:
    try:
        return Channel(value)
    except ValueError as exc:
        choices = ", ".join(c.value for c in Channel)
        raise Unprocessable(f"unknown channel {value!r} (one of {choices})", code="invalid_channel") from exc


def _address(channel: Channel, value: str) -> str:
    value = value.strip()
    if channel is Channel.EMAIL:
        email = normalized_email(value) if len(value) <= 320 else None
        if email is None:
            raise Unprocessable(f"{value!r} is not a valid email address", code="invalid_address")
        return email
    pattern, kind = (_E164, "an E.164 phone number") if channel is Channel.SMS else (_PUSH_TOKEN, "a push token")
    if not pattern.match(value):
        raise Unprocessable(f"{value!r} is not {kind}", code="invalid_address")
    return value


@router.get("")
async def list_all(
    principal: DeliveryRead,
    session: Session,
    channel: Annotated[str | None, Query(max_length=16)] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[SuppressionPublic]:
    rows = await list_suppressions(
        session,
        principal.workspace_id,
        channel=_channel(channel).value if channel is not None else None,
        after=row_number(cursor),
        limit=limit + 1,
    )
    page, next_cursor = page_of(rows, limit)
    return Page[SuppressionPublic](data=[SuppressionPublic.of(row) for row in page], next_cursor=next_cursor)


@router.post("", status_code=201)
async def add(
    body: SuppressionCreate, principal: DeliveryWrite, session: Session, response: Response
) -> SuppressionPublic:
    """Suppress an address. Already suppressed: 200 with the existing entry (its first reason is kept)."""
    address = _address(body.channel, body.address)
    added = await suppress(
        session, principal.workspace_id, [NewSuppression(body.channel.value, address, body.reason, "api")]
    )
    await session.commit()
    if not added:
        response.status_code = 200
    row = await suppression_for(session, principal.workspace_id, body.channel.value, address)
    if row is None:  # removed between the two statements
        raise NotFound("the suppression was removed concurrently", code="suppression_not_found")
    return SuppressionPublic.of(row)


@router.get("/{channel}/{address:path}")
async def read(channel: str, address: str, principal: DeliveryRead, session: Session) -> SuppressionPublic:
    kind = _channel(channel)
    row = await suppression_for(session, principal.workspace_id, kind.value, _address(kind, address))
    if row is None:
        raise NotFound(f"{address!r} is not suppressed on {kind.value}", code="suppression_not_found")
    return SuppressionPublic.of(row)


@router.delete("/{channel}/{address:path}", status_code=204)
async def remove(channel: str, address: str, principal: DeliveryDelete, session: Session) -> Response:
    kind = _channel(channel)
    removed = await unsuppress(session, principal.workspace_id, kind.value, _address(kind, address))
    if not removed:
        raise NotFound(f"{address!r} is not suppressed on {kind.value}", code="suppression_not_found")
    await session.commit()
    return Response(status_code=204)
