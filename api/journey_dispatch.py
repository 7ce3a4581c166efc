"""Routing ingested events to journeys: entry by signal-with-start, resumption by signal.

Dispatch is idempotent, so the ingestion API may dispatch an event again when a client retries it:
- entry uses signal-with-start under the deterministic workflow id with REJECT_DUPLICATE, so a contact enters a
  journey once, ever (re-entry policies come later);
- the journey ignores an event id it has already seen.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.journeys.definition import JourneyDefinition
from domain.journeys.runtime import (
    EVENT_SIGNAL,
    WORKFLOW_NAME,
    JourneyEventSignal,
    JourneyInput,
    journey_workflow_id,
)
from mauntic.temporal import TemporalGateway
from mauntic.ttl_cache import TtlCache
from store.journeys import enroll, enrollments_for, published_versions
from store.models import JourneyEnrollment
from workflows.search_attributes import initial_search_attributes

_CACHE_SECONDS = 2.0
_MAX_IN_FLIGHT = 32


@dataclass(frozen=True)
class IngestedEvent:
    event_id: str
    contact_id: str
    name: str
    properties: dict[str, Any]
    timestamp: datetime


@dataclass(frozen=True)
class PublishedJourney:
    journey_id: str
    version: int
    definition: JourneyDefinition
    wait_events: frozenset[str]


@dataclass
class DispatchReport:
    entered: int = 0  # signal-with-start calls: a new journey, or the trigger delivered to a running one
    signalled: int = 0
    already_done: int = 0


class JourneyDispatcher:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], temporal: TemporalGateway) -> None:
        self._sessions = sessions
        self._temporal = temporal
        self._published: TtlCache[str, list[PublishedJourney]] = TtlCache(_CACHE_SECONDS)
        self._limit = asyncio.Semaphore(_MAX_IN_FLIGHT)

    def forget(self, workspace_id: str) -> None:
        """Called when a journey of the workspace is published or archived in this process."""
        self._published.forget(workspace_id)

    async def published(self, workspace_id: str) -> list[PublishedJourney]:
        """The workspace's published journeys, from a short cache (no database trip while it is warm)."""
        return await self._published.get(workspace_id, lambda: self._load_published(workspace_id))

    async def _load_published(self, workspace_id: str) -> list[PublishedJourney]:
        async with self._sessions() as session:
            rows = await published_versions(session, workspace_id)
        journeys = []
        for row in rows:
            definition = JourneyDefinition.model_validate(row.definition)
            journeys.append(
                PublishedJourney(row.journey_id, row.version, definition, frozenset(definition.wait_event_names()))
            )
        return journeys

    async def dispatch(self, workspace_id: str, events: list[IngestedEvent]) -> DispatchReport:
        report = DispatchReport()
        journeys = await self.published(workspace_id) if events else []
        interested = [j for j in journeys if any(self._concerns(j, e) for e in events)]
        if not interested:
            return report
        calls = []
        async with self._sessions() as session:
            known = await enrollments_for(
                session, workspace_id, [e.contact_id for e in events], [j.journey_id for j in interested]
            )
            enrolled = {(en.journey_id, en.contact_id): en for en in known}
            for event in events:
                for journey in interested:
                    key = (journey.journey_id, event.contact_id)
                    if journey.definition.trigger.matches(event.name, event.properties):
                        enrollment = enrolled.get(key) or await enroll(
                            session, self._enrollment(workspace_id, journey, event)
                        )
                        enrolled[key] = enrollment
                        calls.append(self._enter(enrollment, event, report))
                    elif event.name in journey.wait_events and key in enrolled:
                        calls.append(self._signal(enrolled[key].workflow_id, event, report))
            await session.commit()
        await asyncio.gather(*calls)
        return report

    @staticmethod
    def _concerns(journey: PublishedJourney, event: IngestedEvent) -> bool:
        return event.name in journey.wait_events or journey.definition.trigger.event == event.name

    @staticmethod
    def _enrollment(workspace_id: str, journey: PublishedJourney, event: IngestedEvent) -> JourneyEnrollment:
        return JourneyEnrollment(
            workspace_id=workspace_id,
            journey_id=journey.journey_id,
            contact_id=event.contact_id,
            version=journey.version,
            workflow_id=journey_workflow_id(workspace_id, journey.journey_id, event.contact_id),
            trigger_event_id=event.event_id,
        )

    async def _enter(self, enrollment: JourneyEnrollment, event: IngestedEvent, report: DispatchReport) -> None:
        journey_input = JourneyInput(
            workspace_id=enrollment.workspace_id,
            journey_id=enrollment.journey_id,
            version=enrollment.version,
            contact_id=enrollment.contact_id,
            trigger_event_id=enrollment.trigger_event_id,
        )
        client = await self._temporal.client()
        async with self._limit:
            try:
                await client.start_workflow(
                    WORKFLOW_NAME,
                    journey_input,
                    id=enrollment.workflow_id,
                    task_queue=self._temporal.task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    search_attributes=initial_search_attributes(journey_input),
                    start_signal=EVENT_SIGNAL,
                    start_signal_args=[_signal(event)],
                )
            except WorkflowAlreadyStartedError:
                report.already_done += 1
                return
        report.entered += 1

    async def _signal(self, workflow_id: str, event: IngestedEvent, report: DispatchReport) -> None:
        client = await self._temporal.client()
        async with self._limit:
            try:
                await client.get_workflow_handle(workflow_id).signal(EVENT_SIGNAL, _signal(event))
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:
                    raise
                report.already_done += 1
                return
        report.signalled += 1


def _signal(event: IngestedEvent) -> JourneyEventSignal:
    return JourneyEventSignal(
        event_id=event.event_id, name=event.name, properties=event.properties, timestamp=event.timestamp
    )
