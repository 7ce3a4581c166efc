"""One-click unsubscribe (RFC 8058): public, no API key, no cookie; the sealed token is the only credential.

`GET /u/{token}` shows a confirmation page and changes nothing (link scanners and prefetchers follow GETs).
`POST /u/{token}` with the body `List-Unsubscribe=One-Click` (form-urlencoded or multipart, as mailbox providers
and our own page send it) suppresses the address and records an `unsubscribed` delivery event; a repeat is a no-op.
"""

from __future__ import annotations

import html
import logging
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import Secrets, Session, Waker
from api.errors import error_body
from domain.clock import utcnow
from domain.consent.model import ConsentSource, ConsentStatus
from domain.delivery.unsubscribe import InvalidUnsubscribeToken, UnsubscribeClaim
from mauntic.unsubscribe import read_unsubscribe_token
from store.consent import consent_at_address
from store.models import MessageLog
from store.outbox import OutboxEvent, enqueue
from store.unsubscribes import UNSUBSCRIBE_PROVIDER_ID, record_unsubscribe

router = APIRouter(tags=["unsubscribe"])
log = logging.getLogger(__name__)

_FIELD, _ONE_CLICK = "List-Unsubscribe", "One-Click"
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",  # the URL is the credential
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
}
_STYLE = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}"


class _Refusal(Exception):
    def __init__(self, status: int, code: str, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.title, self.message = status, code, title, message


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(document, status, headers=_HEADERS)


def _refused(request: Request, refusal: _Refusal) -> Response:
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return JSONResponse(error_body(refusal.code, refusal.message), refusal.status, headers=_HEADERS)
    body = f'<p>{html.escape(refusal.message)}</p><p><small>Error code: <code id="error-code">{refusal.code}</code>'
    return _page(refusal.title, body + "</small></p>", refusal.status)


def _claim(secrets: Secrets, token: str) -> UnsubscribeClaim:
    try:
        return read_unsubscribe_token(secrets, token)
    except InvalidUnsubscribeToken as exc:
        raise _Refusal(
            400,
            "invalid_unsubscribe_token",
            "This unsubscribe link is not valid",
            "The link may have been cut short or changed. Please use the unsubscribe link from the email exactly "
            "as it arrived.",
        ) from exc


def _form_values(content_type: str, body: bytes) -> dict[str, list[str]]:
    """The form fields of a urlencoded or multipart/form-data body (no third-party parser needed for one field)."""
    if content_type.lower().startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
        fields: dict[str, list[str]] = {}
        if message.is_multipart():
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                if isinstance(name, str) and isinstance(payload, bytes):
                    fields.setdefault(name, []).append(payload.decode("utf-8", "replace").strip())
        return fields
    return parse_qs(body.decode("utf-8", "replace").strip(), keep_blank_values=True)


def _is_one_click(request: Request, body: bytes) -> bool:
    values = _form_values(request.headers.get("content-type", ""), body)
    return _ONE_CLICK in values.get(_FIELD, [])


async def _withdraw_consent(session: Session, claim: UnsubscribeClaim) -> None:
    """The one-click unsubscribe lands in consent: the channel withdrawn (source one_click_unsubscribe) for the
    message's contact, else every contact at the address. A repeat changes nothing."""
    message = await session.get(MessageLog, claim.message_log_id) if claim.message_log_id else None
    contact_id = message.contact_id if message is not None and message.workspace_id == claim.workspace_id else None
    await consent_at_address(
        session, claim.workspace_id, channel=claim.channel, address=claim.address, wanted=ConsentStatus.WITHDRAWN,
        source=ConsentSource.ONE_CLICK_UNSUBSCRIBE, contact_id=contact_id, note="RFC 8058 one-click",
    )  # fmt: skip


async def _tell_journeys(session: Session, claim: UnsubscribeClaim) -> bool:
    """Queue `unsubscribed` for the contact's journeys (in the unsubscribe's transaction), so a wait_for_event on
    it resumes. Queued on every POST with the same event id: journeys ignore a repeat. True when queued."""
    message = await session.get(MessageLog, claim.message_log_id) if claim.message_log_id else None
    if message is None or message.workspace_id != claim.workspace_id or not message.contact_id:
        return False
    properties = {
        "message_id": message.id,
        "journey_id": message.journey_id,
        "step_id": message.step_id,
        "provider": UNSUBSCRIBE_PROVIDER_ID,
        "channel": claim.channel,
    }
    now = utcnow()
    event = OutboxEvent(
        workspace_id=claim.workspace_id,
        contact_id=message.contact_id,
        event_id=f"unsubscribe:{claim.fingerprint()}",
        name="unsubscribed",
        properties={key: value for key, value in properties.items() if value is not None},
        occurred_at=now,
    )
    await enqueue(session, [event], now)
    return True


@router.get("/u/{token}", response_class=HTMLResponse, include_in_schema=False)
async def confirm_page(token: str, request: Request, secrets: Secrets) -> Response:
    try:
        claim = _claim(secrets, token)
    except _Refusal as refusal:
        return _refused(request, refusal)
    body = (
        f"<p>Stop sending messages to <strong>{html.escape(claim.address)}</strong>?</p>"
        f'<form method="post"><input type="hidden" name="{_FIELD}" value="{_ONE_CLICK}">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return _page("Unsubscribe", body)


@router.post("/u/{token}", response_class=HTMLResponse, include_in_schema=False)
async def one_click(token: str, request: Request, secrets: Secrets, session: Session, waker: Waker) -> Response:
    try:
        claim = _claim(secrets, token)
        if not _is_one_click(request, await request.body()):
            raise _Refusal(
                400,
                "one_click_body_required",
                "Unsubscribe not confirmed",
                f"Confirm with the button on the unsubscribe page (the request must carry {_FIELD}={_ONE_CLICK}).",
            )
        if await record_unsubscribe(session, claim) is None:
            raise _Refusal(404, "unknown_workspace", "Nothing to unsubscribe from", "This sender no longer exists.")
    except _Refusal as refusal:
        return _refused(request, refusal)
    await _withdraw_consent(session, claim)
    queued = await _tell_journeys(session, claim)
    await session.commit()
    if queued:
        waker.wake()
    return _page(
        "You are unsubscribed", f"<p>{html.escape(claim.address)} will receive no more messages from this sender.</p>"
    )
