"""Journeys: drafts, validation, publishing immutable versions, archiving.

Publishing an unchanged definition makes no new version (the latest one is returned as it is), so a designer's
repeated publish or a deploy script re-applying the same journey never splits contacts across identical versions.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.dispatch_interest import DispatchInterest
from api.errors import Conflict, NotFound, Unprocessable
from api.journeys.references import check_references
from domain.clock import utcnow
from domain.events.interest import OutboxKind
from domain.ids import new_id
from domain.journeys.definition import JourneyDefinition, JourneyDefinitionError, validate_definition
from domain.journeys.runtime import journey_workflow_id
from store.contacts import get_contact
from store.journeys import get_journey, get_version, next_version_number
from store.models import Journey, JourneyVersion
from store.outbox import OutboxEvent, enqueue
from store.outbox_wake import DispatchWaker


def validated(raw: dict[str, Any]) -> JourneyDefinition:
    try:
        return validate_definition(raw)
    except JourneyDefinitionError as exc:
        raise Unprocessable(f"{exc.node}: {exc.message}", code=exc.code, details={"node": exc.node}) from exc


def canonical(definition: JourneyDefinition) -> dict[str, Any]:
    return definition.canonical()


async def owned(session: AsyncSession, workspace_id: str, journey_id: str) -> Journey:
    journey = await get_journey(session, workspace_id, journey_id)
    if journey is None:
        raise NotFound(f"no journey {journey_id}", code="journey_not_found")
    return journey


class JourneyService:
    def __init__(self, interest: DispatchInterest, waker: DispatchWaker) -> None:
        self._interest = interest
        self._waker = waker

    async def create(self, session: AsyncSession, workspace_id: str, name: str, raw: dict[str, Any]) -> Journey:
        definition = validated(raw)
        journey = Journey(id=new_id("jr"), workspace_id=workspace_id, name=name, definition=canonical(definition))
        session.add(journey)
        await session.commit()
        return journey

    async def update(
        self, session: AsyncSession, journey: Journey, name: str | None, raw: dict[str, Any] | None
    ) -> Journey:
        """Edits the draft. Contacts already in the journey keep running the version they entered on."""
        if journey.status == "archived":
            raise Conflict("an archived journey cannot be edited", code="journey_archived")
        if raw is not None:
            journey.definition = canonical(validated(raw))
        if name is not None:
            journey.name = name
        journey.updated_at = utcnow()
        session.add(journey)
        await session.commit()
        return journey

    async def publish(self, session: AsyncSession, journey: Journey) -> Journey:
        """Snapshots the draft as a new immutable version, unless it equals the published one."""
        if journey.status == "archived":
            raise Conflict("an archived journey cannot be published", code="journey_archived")
        definition = validated(journey.definition)
        await check_references(session, journey.workspace_id, definition)
        stored = canonical(definition)
        if journey.published_version is not None and journey.status == "published":
            latest = await get_version(session, journey.workspace_id, journey.id, journey.published_version)
            if latest is not None and latest.definition == stored:
                return journey  # unchanged: no new version
        version = await next_version_number(session, journey.id)
        session.add(
            JourneyVersion(
                workspace_id=journey.workspace_id,
                journey_id=journey.id,
                version=version,
                definition=stored,
                trigger_event=definition.trigger.label,
            )
        )
        journey.status, journey.published_version, journey.updated_at = "published", version, utcnow()
        session.add(journey)
        await session.commit()
        await self.changed(session, journey.workspace_id)
        return journey

    async def archive(self, session: AsyncSession, journey: Journey) -> Journey:
        """No new contacts enter; contacts already in it finish their run."""
        journey.status, journey.updated_at = "archived", utcnow()
        session.add(journey)
        await session.commit()
        await self.changed(session, journey.workspace_id)
        return journey

    async def enroll(
        self,
        session: AsyncSession,
        journey: Journey,
        contact_id: str,
        properties: dict[str, Any],
        idempotency_key: str | None,
    ) -> tuple[str, str]:
        """Queue the contact's entry (an outbox row the dispatcher enters like any trigger, under the journey's
        deterministic workflow id); the workflow id and the entry's event id."""
        if journey.status != "published":
            raise Conflict("only a published journey can be entered", code="journey_not_published")
        if await get_contact(session, journey.workspace_id, contact_id) is None:
            raise NotFound(f"no contact {contact_id}", code="contact_not_found")
        if idempotency_key is None:
            event_id = new_id("en")
        else:
            digest = hashlib.sha256(f"{journey.id}:{contact_id}:{idempotency_key}".encode()).hexdigest()
            event_id = "en_" + digest[:32]
        row = OutboxEvent(
            journey.workspace_id, contact_id, event_id, journey.id, properties, utcnow(), OutboxKind.ENROLL
        )
        await enqueue(session, [row], utcnow())
        await session.commit()
        self._waker.wake()
        return journey_workflow_id(journey.workspace_id, journey.id, contact_id), event_id

    async def changed(self, session: AsyncSession, workspace_id: str) -> None:
        """What dispatchers route for the workspace changed: forget the cached interest and wake them."""
        self._interest.forget(workspace_id)
        await self._waker.workspace_changed(session, workspace_id)
