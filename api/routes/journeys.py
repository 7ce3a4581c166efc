"""Journeys: create and validate a definition, publish it as an immutable version, inspect a contact in it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import Interest, JourneysRead, JourneysWrite, Session, Temporal, Waker
from api.errors import Conflict, NotFound, Unavailable, Unprocessable
from api.journey_state import contact_state as read_contact_state
from api.pagination import Cursor, Page, page_of, row_number
from api.schemas.journeys import (
    JourneyContactState,
    JourneyCreate,
    JourneyDeadLetterPublic,
    JourneyPublic,
    JourneyUpdate,
)
from api.validation import ResourceId
from domain.clock import utcnow
from domain.dead_letters.model import DeadLetterKind
from domain.ids import new_id
from domain.journeys.definition import JourneyDefinition, JourneyDefinitionError, validate_definition
from store.dead_letters import DeadLetterFilter, list_dead_letters
from store.journeys import get_enrollment, get_journey, list_journeys, next_version_number
from store.models import Journey, JourneyVersion
from store.segments import get_segment

router = APIRouter(prefix="/v1/journeys", tags=["journeys"])


def _validated(raw: dict[str, Any]) -> JourneyDefinition:
    try:
        return validate_definition(raw)
    except JourneyDefinitionError as exc:
        raise Unprocessable(f"{exc.node}: {exc.message}", code=exc.code, details={"node": exc.node}) from exc


def _canonical(definition: JourneyDefinition) -> dict[str, Any]:
    return definition.model_dump(mode="json", exclude_none=True)


async def _owned(session: Session, workspace_id: str, journey_id: str) -> Journey:
    journey = await get_journey(session, workspace_id, journey_id)
    if journey is None:
        raise NotFound(f"no journey {journey_id}", code="journey_not_found")
    return journey


@router.post("", status_code=201)
async def create_journey(body: JourneyCreate, principal: JourneysWrite, session: Session) -> JourneyPublic:
    definition = _validated(body.definition)
    journey = Journey(
        id=new_id("jr"), workspace_id=principal.workspace_id, name=body.name, definition=_canonical(definition)
    )
    session.add(journey)
    await session.commit()
    return JourneyPublic.of(journey)


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
    return JourneyPublic.of(await _owned(session, principal.workspace_id, journey_id))


@router.patch("/{journey_id}")
async def update_journey(
    journey_id: ResourceId, body: JourneyUpdate, principal: JourneysWrite, session: Session
) -> JourneyPublic:
    """Edits the draft. Contacts already in the journey keep running the version they entered on."""
    journey = await _owned(session, principal.workspace_id, journey_id)
    if journey.status == "archived":
        raise Conflict("an archived journey cannot be edited", code="journey_archived")
    if body.definition is not None:
        journey.definition = _canonical(_validated(body.definition))
    if body.name is not None:
        journey.name = body.name
    journey.updated_at = utcnow()
    session.add(journey)
    await session.commit()
    return JourneyPublic.of(journey)


@router.post("/{journey_id}/publish")
async def publish_journey(
    journey_id: ResourceId, principal: JourneysWrite, session: Session, waker: Waker, interest: Interest
) -> JourneyPublic:
    """Snapshots the current definition as a new immutable version; matching events enter it from now on."""
    journey = await _owned(session, principal.workspace_id, journey_id)
    if journey.status == "archived":
        raise Conflict("an archived journey cannot be published", code="journey_archived")
    definition = _validated(journey.definition)
    segment_id = definition.trigger.segment_entered
    if segment_id is not None and await get_segment(session, journey.workspace_id, segment_id) is None:
        raise Unprocessable(f"the trigger names no segment of this workspace: {segment_id}", code="unknown_segment")
    version = await next_version_number(session, journey.id)
    session.add(
        JourneyVersion(
            workspace_id=journey.workspace_id,
            journey_id=journey.id,
            version=version,
            definition=_canonical(definition),
            trigger_event=definition.trigger.label,
        )
    )
    journey.status, journey.published_version, journey.updated_at = "published", version, utcnow()
    session.add(journey)
    await session.commit()
    interest.forget(journey.workspace_id)
    await waker.workspace_changed(session, journey.workspace_id)
    return JourneyPublic.of(journey)


@router.post("/{journey_id}/archive")
async def archive_journey(
    journey_id: ResourceId, principal: JourneysWrite, session: Session, waker: Waker, interest: Interest
) -> JourneyPublic:
    """No new contacts enter; contacts already in it finish their run."""
    journey = await _owned(session, principal.workspace_id, journey_id)
    journey.status, journey.updated_at = "archived", utcnow()
    session.add(journey)
    await session.commit()
    interest.forget(journey.workspace_id)
    await waker.workspace_changed(session, journey.workspace_id)
    return JourneyPublic.of(journey)


@router.get("/{journey_id}/contacts/{contact_id}")
async def contact_state(
    journey_id: ResourceId, contact_id: ResourceId, principal: JourneysRead, session: Session, temporal: Temporal
) -> JourneyContactState:
    """Where the contact is in the journey, answered by the journey workflow's `state` query; 409
    `journey_stuck` (with the reason) when its execution exists but cannot answer, and a failed state with the
    reason when it failed (see api/journey_state.py)."""
    await _owned(session, principal.workspace_id, journey_id)
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
    await _owned(session, principal.workspace_id, journey_id)
    flt = DeadLetterFilter(workspace_id=principal.workspace_id, kind=DeadLetterKind.JOURNEY_STEP, journey_id=journey_id)
    rows = await list_dead_letters(session, flt, before=row_number(cursor), limit=limit + 1)
    page, next_cursor = page_of(rows, limit)
    return Page[JourneyDeadLetterPublic](data=[JourneyDeadLetterPublic.of(r) for r in page], next_cursor=next_cursor)
