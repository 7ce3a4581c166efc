"""The public consent pages: no API key, no cookie; the sealed token in the URL is the only credential.

`GET /preferences/{token}` shows the contact's channels and topics; `POST` (a plain form: `action=save` with the
ticked `channel` / `topic` boxes, or `action=unsubscribe_all`) records the changes with source `preference_center`
and redirects (303) back to the page, so a reload does not post again. CSRF: a forged form would need the token;
a browser's `Sec-Fetch-Site: cross-site` post is refused besides. `GET /consent/confirm/{token}` shows the double
opt-in confirmation button (scanners follow GETs; nothing changes there), its POST grants (replays are harmless).
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.consent import pages
from api.consent.preferences import state, submit
from api.consent.service import confirm_consent
from api.context import AppContext
from api.deps import Secrets, Session
from api.errors import ApiError
from domain.consent.tokens import ConsentClaim, ExpiredConsentToken, InvalidConsentToken, TokenKind
from mauntic.consent_links import read_token
from store.contacts import get_contact
from store.models import Contact

router = APIRouter(tags=["preferences"])


class _Refused(Exception):
    def __init__(self, response: HTMLResponse) -> None:
        self.response = response


def _claim(secrets: Secrets, token: str, kind: TokenKind) -> ConsentClaim:
    try:
        return read_token(secrets, token, kind)
    except ExpiredConsentToken as exc:
        raise _Refused(
            pages.refusal("This link has expired", "Please use the link from a more recent message.",
                          "consent_link_expired", 410)
        ) from exc  # fmt: skip
    except InvalidConsentToken as exc:
        raise _Refused(
            pages.refusal("This link is not valid", "The link may have been cut short or changed.",
                          "invalid_consent_token", 400)
        ) from exc  # fmt: skip


async def _contact(session: Session, claim: ConsentClaim) -> Contact:
    contact = await get_contact(session, claim.workspace_id, claim.contact_id)
    if contact is None:
        raise _Refused(pages.refusal("Nothing to manage", "We hold no data for this link any more.",
                                     "contact_not_found", 404))  # fmt: skip
    return contact


async def _form(request: Request) -> dict[str, list[str]]:
    """The posted form's fields. Its size is bounded before the route runs (api/body_limit.py: 413
    `payload_too_large`); what is not a well-formed form of printable UTF-8 text is a 400 `invalid_form`."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise _Refused(pages.refusal("Request refused", "This form can only be sent from its own page.",
                                     "cross_site_form", 403))  # fmt: skip
    try:
        fields = parse_qs(
            (await request.body()).decode("utf-8"), keep_blank_values=True, errors="strict",
            max_num_fields=pages.MAX_FORM_FIELDS,
        )  # fmt: skip
        text = "".join(name + "".join(values) for name, values in fields.items())
        if "\x00" in text:
            raise ValueError("a NUL character")
        text.encode("utf-8")  # a lone surrogate (percent-encoded) cannot be
    except (UnicodeError, ValueError) as exc:
        raise _Refused(pages.refusal("Request refused", "This form could not be read.", "invalid_form", 400)) from exc
    return fields


async def _page(session: Session, claim: ConsentClaim, contact: Contact, *, saved: bool, off: bool) -> HTMLResponse:
    shown = await state(session, claim.workspace_id, contact)
    address = contact.email or contact.phone or contact.external_id or contact.id
    return pages.preferences(address, shown.channels, shown.topics, saved=saved, unsubscribed=off)


@router.get("/preferences/{token}", response_class=HTMLResponse, include_in_schema=False)
async def preference_page(token: str, request: Request, secrets: Secrets, session: Session) -> Response:
    try:
        claim = _claim(secrets, token, TokenKind.PREFERENCES)
        contact = await _contact(session, claim)
    except _Refused as refused:
        return refused.response
    saved = request.query_params.get("saved")
    return await _page(session, claim, contact, saved=saved == "1", off=saved == "all")


@router.post("/preferences/{token}", include_in_schema=False)
async def save_preferences(token: str, request: Request, secrets: Secrets, session: Session) -> Response:
    try:
        claim = _claim(secrets, token, TokenKind.PREFERENCES)
        form = await _form(request)
        contact = await _contact(session, claim)
    except _Refused as refused:
        return refused.response
    everything_off = form.get("action", ["save"])[-1] == "unsubscribe_all"
    try:
        applied = await submit(
            session, claim.workspace_id, contact, set(form.get("channel", [])), set(form.get("topic", [])),
            everything_off=everything_off,
        )  # fmt: skip
    except ApiError as exc:  # a topic deleted while the page was open ...
        return pages.refusal("Not saved", exc.message, exc.code, 409)
    await session.commit()
    context: AppContext = request.app.state.context
    if applied.confirmations:
        context.waker.wake()
    return RedirectResponse(f"/preferences/{token}?saved={'all' if everything_off else '1'}", status_code=303)


@router.get("/consent/confirm/{token}", response_class=HTMLResponse, include_in_schema=False)
async def confirm_page(token: str, secrets: Secrets) -> Response:
    try:
        _claim(secrets, token, TokenKind.CONFIRM)
    except _Refused as refused:
        return refused.response
    return pages.confirm_prompt()


@router.post("/consent/confirm/{token}", response_class=HTMLResponse, include_in_schema=False)
async def confirm(token: str, request: Request, secrets: Secrets, session: Session) -> Response:
    try:
        claim = _claim(secrets, token, TokenKind.CONFIRM)
        await _form(request)
    except _Refused as refused:
        return refused.response
    try:
        await confirm_consent(session, claim.workspace_id, claim.contact_id, claim.channel)
    except ApiError as exc:
        return pages.refusal("Nothing to confirm", exc.message, exc.code, exc.status_code)
    return pages.confirmed()
