"""Journeys: create and validate a definition, publish it as an immutable version, inspect a contact in it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from api.context import AppContext
from api.deps import JourneysDelete, JourneysPublish, JourneysRead, JourneysWrite, Session, Temporal, app_context
from api.errors import NotFound, Unavailable
from api.journey_state import contact_state as read_contact_state
from api.journeys.preview import warnings_of
from api.journeys.service import JourneyService, owned, validated
from api.pagination import Cursor, Page, page_of, row_number
from api.schemas.journeys import (
    JourneyContactState,
    JourneyCreate,
    JourneyDeadLetterPublic,
    JourneyEnroll,
    JourneyEnrollment,
    JourneyPublic,
    JourneyUpdate,
)
from api.validation import ResourceId
from domain.dead_letters.model import DeadLetterKind
from store.dead_letters import DeadLetterFilter, list_dead_letters
from store.journeys import get_enrollment, list_journeys
from store.models import Journey

router = APIRouter(prefix="/v1/journeys", tags=["journeys"])


def journey_service(context: Annotated[AppContext, Depends(app_context)]) -> JourneyService:
    return context.journeys


Journeys = Annotated[JourneyService, Depends(journey_service)]


async def _with_warnings(session: AsyncSession, journey: Journey) -> JourneyPublic:
    """The journey, with the template variables of its definition that render empty (api/journeys/preview.py)."""
    return JourneyPublic.of(journey, await warnings_of(session, journey.workspace_id, validated(journey.definition)))


@router.post("", status_code=201)
async def create_journey(
    body: JourneyCreate, principal: JourneysWrite, session: Session, journeys: Journeys
) -> JourneyPublic:
    journey = await journeys.create(session, principal.workspace_id, body.name, body.definition)
    return await _with_warnings(session, journey)


@router.get("")
async def list_all(
    principal: JourneysRead,
    session: Session,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[JourneyPublic]:
    rows = await list_journeys(session, principal.workspace_id, after=cursor, limit=limit + 1)
    page, next_cursor = page_of(rows, limit)
    return Page[JourneyPublic](data=[JourneyPublic.of(j) for j in page], next_cursor=next_cursor)


@router.get("/{journey_id}")
async def read_journey(journey_id: ResourceId, principal: JourneysRead, session: Session) -> JourneyPublic:
    return JourneyPublic.of(await owned(session, principal.workspace_id, journey_id))


@router.patch("/{journey_id}")
async def update_journey(
    journey_id: ResourceId, body: JourneyUpdate, principal: JourneysWrite, session: Session, journeys: Journeys
) -> JourneyPublic:
    """Edits the draft. Contacts already in the journey keep running the version they entered on."""
    journey = await owned(session, principal.workspace_id, journey_id)
    return await _with_warnings(session, await journeys.update(session, journey, body.name, body.definition))


@router.post("/{journey_id}/publish")
async def publish_journey(
    journey_id: ResourceId, principal: JourneysPublish, session: Session, journeys: Journeys
) -> JourneyPublic:
    """Snapshots the current definition as a new immutable version; matching events enter it from now on.
    Publishing a definition equal to the published version makes no new version."""
    journey = await owned(session, principal.workspace_id, journey_id)
    return await _with_warnings(session, await journeys.publish(session, journey))


@router.post("/{journey_id}/enroll", status_code=202)
async def enroll_contact(
    journey_id: ResourceId, body: JourneyEnroll, principal: JourneysWrite, session: Session, journeys: Journeys
) -> JourneyEnrollment:
    """Enters the contact into the published journey (the API trigger, for transactional and backend use), through
    the dispatcher like any trigger: a burst of duplicates starts one execution, and the journey's re-entry policy
    applies. 404 `contact_not_found`, 409 `journey_not_published`."""
    journey = await owned(session, principal.workspace_id, journey_id)
    properties = body.properties
    workflow_id, event_id = await journeys.enroll(session, journey, body.contact_id, properties, body.idempotency_key)
    return JourneyEnrollment(
        journey_id=journey_id, contact_id=body.contact_id, workflow_id=workflow_id, event_id=event_id
    )


@router.post("/{journey_id}/archive")
async def archive_journey(
    journey_id: ResourceId, principal: JourneysDelete, session: Session, journeys: Journeys
) -> JourneyPublic:
    """No new contacts enter; contacts already in it finish their run."""
    journey = await owned(session, principal.workspace_id, journey_id)
    return JourneyPublic.of(await journeys.archive(session, journey))


@router.get("/{journey_id}/contacts/{contact_id}")
async def contact_state(
    journey_id: ResourceId, contact_id: ResourceId, principal: JourneysRead, session: Session, temporal: Temporal
) -> JourneyContactState:
    """Where the contact is in the journey, answered by the journey workflow's `state` query; 409
    `journey_stuck` (with the reason) when its execution exists but cannot answer, and a failed state with the
    reason when it failed (see api/journey_state.py)."""
    await owned(session, principal.workspace_id, journey_id)
    enrollment = await get_enrollment(session, principal.workspace_id, journey_id, contact_id)
    if enrollment is None:
        raise NotFound("the contact has not entered this journey", code="journey_enrollment_not_found")
    try:
        client = await temporal.client()
    except (RuntimeError, OSError) as exc:
        raise Unavailable(f"Temporal cannot be reached: {exc}", code="temporal_unavailable") from exc
    state = await read_contact_state(client, enrollment)
    return JourneyContactState(
        journey_id=journey_id,
        contact_id=contact_id,
        workflow_id=enrollment.workflow_id,
        version=enrollment.version,
        entered_at=enrollment.entered_at,
        state=state,
    )


@router.get("/{journey_id}/dead-letters")
async def dead_letters(
    journey_id: ResourceId,
    principal: JourneysRead,
    session: Session,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[JourneyDeadLetterPublic]:
    """Executions of this journey that failed for good, newest first: the contact, the step, the reason."""
    await owned(session, principal.workspace_id, journey_id)
    flt = DeadLetterFilter(workspace_id=principal.workspace_id, kind=DeadLetterKind.JOURNEY_STEP, journey_id=journey_id)
    rows = await list_dead_letters(session, flt, before=row_number(cursor), limit=limit + 1)
    page, next_cursor = page_of(rows, limit)
    return Page[JourneyDeadLetterPublic](data=[JourneyDeadLetterPublic.of(r) for r in page], next_cursor=next_cursor)
