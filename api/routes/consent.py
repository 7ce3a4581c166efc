"""The consent API: topics (`/v1/consent/topics`), workspace settings (`/v1/consent/settings`) and a contact's
consent (`/v1/contacts/{id}/consent`, its history). Scopes: contacts:read / contacts:write. Logic: api/consent."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.consent import service
from api.context import AppContext
from api.deps import BaseUrl, ContactsRead, ContactsWrite, Secrets, Session, app_context
from api.pagination import Cursor, Page, page_of
from api.schemas.consent import (
    ConsentHistoryPublic,
    ConsentPut,
    ConsentSettingsBody,
    ConsentTopicCreate,
    ConsentTopicPublic,
    ContactConsentPublic,
    PreferenceLink,
)
from domain.consent.model import ConsentSource
from mauntic.consent_links import preferences_url
from store.consent import consent_history, list_topics

router = APIRouter(tags=["consent"])
ContactId = Annotated[str, Path(max_length=40)]
Context = Annotated[AppContext, Depends(app_context)]


@router.get("/v1/consent/topics")
async def topics(principal: ContactsRead, session: Session) -> list[ConsentTopicPublic]:
    return [ConsentTopicPublic.of(row) for row in await list_topics(session, principal.workspace_id)]


@router.post("/v1/consent/topics", status_code=201)
async def create_topic(body: ConsentTopicCreate, principal: ContactsWrite, session: Session) -> ConsentTopicPublic:
    """A subscription group contacts consent to; send steps name it as `topic`. 409 `consent_topic_exists`."""
    return ConsentTopicPublic.of(await service.create_topic(session, principal.workspace_id, body))


@router.get("/v1/consent/topics/{key}")
async def topic(
    key: Annotated[str, Path(max_length=64)], principal: ContactsRead, session: Session
) -> ConsentTopicPublic:
    return ConsentTopicPublic.of(await service.get_topic(session, principal.workspace_id, key))


@router.get("/v1/consent/settings")
async def settings(principal: ContactsRead, session: Session) -> ConsentSettingsBody:
    return await service.settings_of(session, principal.workspace_id)


@router.put("/v1/consent/settings")
async def put_settings(body: ConsentSettingsBody, principal: ContactsWrite, session: Session) -> ConsentSettingsBody:
    """Per channel opt_out (the default) or opt_in, and the channels whose grants need double opt-in (email)."""
    return await service.put_settings(session, principal.workspace_id, body)


@router.get("/v1/contacts/{contact_id}/consent")
async def contact_consent(contact_id: ContactId, principal: ContactsRead, session: Session) -> ContactConsentPublic:
    return await service.read_contact_consent(session, principal.workspace_id, contact_id)


@router.put("/v1/contacts/{contact_id}/consent")
async def put_contact_consent(
    contact_id: ContactId, body: ConsentPut, principal: ContactsWrite, session: Session, context: Context
) -> ContactConsentPublic:
    """Apply changes (source `api`). A grant on a double opt-in channel is `pending` and emails a confirmation
    link (queued with the change: sent even if this process dies right after); a repeat of a pending grant sends a
    fresh link."""
    applied = await service.apply_changes(session, principal.workspace_id, contact_id, body.changes, ConsentSource.API)
    await session.commit()
    if applied.confirmations:
        context.waker.wake()  # the confirmation email is an outbox row, committed with the pending consent
    return await service.read_contact_consent(session, principal.workspace_id, contact_id)


@router.get("/v1/contacts/{contact_id}/consent/history")
async def history(
    contact_id: ContactId,
    principal: ContactsRead,
    session: Session,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[ConsentHistoryPublic]:
    """Every change, oldest first: previous and new status, source, legal basis, time."""
    await service.read_contact_consent(session, principal.workspace_id, contact_id)  # 404 for another's contact
    rows = await consent_history(session, principal.workspace_id, contact_id, after=cursor, limit=limit + 1)
    page, next_cursor = page_of(rows, limit)
    return Page[ConsentHistoryPublic](data=[ConsentHistoryPublic.of(row) for row in page], next_cursor=next_cursor)


@router.post("/v1/contacts/{contact_id}/consent/link")
async def preference_link(
    contact_id: ContactId, principal: ContactsWrite, session: Session, secrets: Secrets, base_url: BaseUrl
) -> PreferenceLink:
    """A signed link to the contact's public preference page (no login), as `{{ preferences_url }}` renders it in
    messages: for support staff answering "how do I change what you send me?"."""
    await service.read_contact_consent(session, principal.workspace_id, contact_id)  # 404 for another's contact
    return PreferenceLink(url=preferences_url(secrets, base_url, principal.workspace_id, contact_id))
