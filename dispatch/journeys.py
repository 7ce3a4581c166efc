"""Routing outbox events to journeys: entry by a plain start, resumption by signal.

Every call is idempotent, so a row dispatched twice (a crash after the calls, before the row was deleted) has
the effect of once:
- entry is `start_workflow` under the deterministic workflow id with REJECT_DUPLICATE and the FAIL conflict policy,
  so a contact enters a journey once, ever (re-entry policies come with the journeys issue). The input carries
  the published version's definition and the trigger event: the run loads nothing, and its history explains
  itself. When the dispatcher runs inside the worker, the start asks for eager execution: the server hands the
  first workflow task back in the start's answer instead of through a task-queue poll;
- a journey ignores an event id it has already seen, and its own trigger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.clock import utcnow
from domain.events.interest import OutboxKind
from domain.journeys.definition import JourneyDefinition, definition_size
from domain.journeys.runtime import (
    EVENT_SIGNAL,
    WORKFLOW_NAME,
    JourneyEventSignal,
    JourneyInput,
    journey_event_id,
    journey_workflow_id,
)
from domain.outbound_webhooks.events import WebhookEventType
from mauntic.temporal import TemporalGateway
from mauntic.ttl_cache import TtlCache
from store.journeys import enroll_all, enrollments_for, published_versions
from store.models import JourneyEnrollment
from store.outbox import OutboxEvent, OutboxRow, enqueue
from store.webhook_endpoints import SubscribedTypes
from workflows.search_attributes import initial_search_attributes

_CACHE_SECONDS = 2.0  # a fallback: publishing and archiving also tell dispatchers (store/outbox_wake.py)
RPC_TIMEOUT = timedelta(seconds=10)
# Definitions up to this size travel in the start's input; a larger one is loaded by the run (a local activity),
# so that one oversized journey does not put its definition into every contact's history.
CARRIED_DEFINITION_BYTES = 64 * 1024


@dataclass(frozen=True)
class PublishedJourney:
    journey_id: str
    version: int
    definition: JourneyDefinition
    wait_events: frozenset[str]
    carried: bool  # small enough to go in the start's input

    def concerns(self, event: OutboxEvent) -> bool:
        return self.waits_for(event) or self.starts_on(event)

    def starts_on(self, event: OutboxEvent) -> bool:
        return self.definition.trigger.accepts(event.kind, event.name, event.properties)

    def waits_for(self, event: OutboxEvent) -> bool:
        return event.kind == OutboxKind.EVENT and event.name in self.wait_events


@dataclass(frozen=True)
class Enter:
    enrollment: JourneyEnrollment
    journey: PublishedJourney
    event: OutboxEvent


@dataclass(frozen=True)
class Signal:
    workflow_id: str
    event: OutboxEvent


Call = Enter | Signal


@dataclass
class Routed:
    """A batch's calls: per contact, its rows in order, each with the calls it needs (none: nothing to do)."""

    by_contact: dict[str, list[tuple[OutboxRow, list[Call]]]]


@dataclass
class Report:
    entered: int = 0
    signalled: int = 0
    already_done: int = 0  # a repeated entry, or a signal to a journey that has ended
    eager: int = 0  # entries whose first workflow task came back with the start (run by the worker beside us)


class JourneyRouter:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], temporal: TemporalGateway, *, eager_start: bool
    ) -> None:
        self._sessions = sessions
        self._temporal = temporal
        self._eager = eager_start
        self._published: TtlCache[str, list[PublishedJourney]] = TtlCache(_CACHE_SECONDS)
        self._subscribed = SubscribedTypes(sessions, _CACHE_SECONDS)  # journey.entered goes out only when taken

    def forget(self, workspace_id: str) -> None:
        """A journey of the workspace was published or archived, or its webhook endpoints changed."""
        self._published.forget(workspace_id)
        self._subscribed.forget(workspace_id)

    async def published(self, workspace_id: str) -> list[PublishedJourney]:
        return await self._published.get(workspace_id, lambda: self._load_published(workspace_id))

    async def _load_published(self, workspace_id: str) -> list[PublishedJourney]:
        async with self._sessions() as session:
            rows = await published_versions(session, workspace_id)
        journeys = []
        for row in rows:
            definition = JourneyDefinition.model_validate(row.definition)
            waits = frozenset(definition.wait_event_names())
            carried = definition_size(row.definition) <= CARRIED_DEFINITION_BYTES
            journeys.append(PublishedJourney(row.journey_id, row.version, definition, waits, carried))
        return journeys

    async def route(self, rows: Sequence[OutboxRow]) -> Routed:
        """Decide each row's calls, enrolling contacts that enter (committed before any start, so an enrollment
        exists for every journey started)."""
        routed = Routed({})
        by_workspace: dict[str, list[OutboxRow]] = {}
        for row in rows:
            by_workspace.setdefault(row.event.workspace_id, []).append(row)
            routed.by_contact.setdefault(row.event.contact_id, [])
        for workspace_id, workspace_rows in by_workspace.items():
            calls = await self._route_workspace(workspace_id, workspace_rows)
            for row in workspace_rows:
                routed.by_contact[row.event.contact_id].append((row, calls.get(row.id, [])))
        return routed

    async def _route_workspace(self, workspace_id: str, rows: list[OutboxRow]) -> dict[int, list[Call]]:
        journeys = await self.published(workspace_id)
        interested = [j for j in journeys if any(j.concerns(row.event) for row in rows)]
        if not interested:
            return {}
        async with self._sessions() as session:
            contacts = [row.event.contact_id for row in rows]
            ids = [j.journey_id for j in interested]
            known = await enrollments_for(session, workspace_id, contacts, ids)
            enrolled = {(e.journey_id, e.contact_id): e for e in known}
            entering = self._entering(workspace_id, rows, interested, enrolled)
            if entering:
                announce = await self._subscribed.wants(workspace_id, WebhookEventType.JOURNEY_ENTERED)
                await enroll_all(session, entering)
                if announce:  # in the enrollment's transaction: once per entry, never for one that did not happen
                    await enqueue(session, [_entered(e) for e in entering], utcnow())
                await session.commit()
                stored = await enrollments_for(session, workspace_id, [e.contact_id for e in entering], ids)
                enrolled.update({(e.journey_id, e.contact_id): e for e in stored})
        calls: dict[int, list[Call]] = {}
        inside = {(e.journey_id, e.contact_id) for e in known}  # who a signal can reach, in the rows' order
        for row in rows:
            event = row.event
            for journey in interested:
                key = (journey.journey_id, event.contact_id)
                if journey.starts_on(event) and key in enrolled:
                    calls.setdefault(row.id, []).append(Enter(enrolled[key], journey, event))
                    inside.add(key)
                elif journey.waits_for(event) and key in inside:
                    calls.setdefault(row.id, []).append(Signal(enrolled[key].workflow_id, event))
        return calls

    @staticmethod
    def _entering(
        workspace_id: str,
        rows: list[OutboxRow],
        journeys: list[PublishedJourney],
        enrolled: dict[tuple[str, str], JourneyEnrollment],
    ) -> list[JourneyEnrollment]:
        new: dict[tuple[str, str], JourneyEnrollment] = {}
        for row in rows:
            event = row.event
            for journey in journeys:
                key = (journey.journey_id, event.contact_id)
                if key in enrolled or key in new or not journey.starts_on(event):
                    continue
                new[key] = JourneyEnrollment(
                    workspace_id=workspace_id,
                    journey_id=journey.journey_id,
                    contact_id=event.contact_id,
                    version=journey.version,
                    workflow_id=journey_workflow_id(workspace_id, journey.journey_id, event.contact_id),
                    trigger_event_id=event.event_id,
                )
        return list(new.values())

    async def call(self, call: Call, report: Report) -> None:
        if isinstance(call, Enter):
            await self._enter(call, report)
        else:
            await self._signal(call.workflow_id, call.event, report)

    async def start_input(self, call: Enter) -> JourneyInput:
        """What the start carries: the definition and trigger when they fit, and whether the run announces its
        completion (its workspace takes journey.completed)."""
        enrollment, journey = call.enrollment, call.journey
        return JourneyInput(
            workspace_id=enrollment.workspace_id,
            journey_id=enrollment.journey_id,
            version=enrollment.version,
            contact_id=enrollment.contact_id,
            trigger_event_id=enrollment.trigger_event_id,
            # an enrollment from an earlier version, or a large definition: the run loads it
            definition=journey.definition if journey.carried and enrollment.version == journey.version else None,
            trigger=_signal(call.event) if call.event.event_id == enrollment.trigger_event_id else None,
            announce_completion=await self._subscribed.wants(
                enrollment.workspace_id, WebhookEventType.JOURNEY_COMPLETED
            ),
            send_gate=True,
        )

    async def _enter(self, call: Enter, report: Report) -> None:
        enrollment, journey = call.enrollment, call.journey
        journey_input = await self.start_input(call)
        client = await self._temporal.client()
        try:
            handle = await client.start_workflow(
                WORKFLOW_NAME,
                journey_input,
                id=enrollment.workflow_id,
                task_queue=self._temporal.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                search_attributes=initial_search_attributes(journey_input),
                request_eager_start=self._eager,
                rpc_timeout=RPC_TIMEOUT,
            )
        except WorkflowAlreadyStartedError:
            if journey.waits_for(call.event):  # a trigger that is also an event a step waits for
                await self._signal(enrollment.workflow_id, call.event, report)
            else:
                report.already_done += 1
            return
        report.entered += 1
        report.eager += bool(getattr(handle, "__temporal_eagerly_started", False))  # set by the SDK

    async def _signal(self, workflow_id: str, event: OutboxEvent, report: Report) -> None:
        client = await self._temporal.client()
        try:
            await client.get_workflow_handle(workflow_id).signal(EVENT_SIGNAL, _signal(event), rpc_timeout=RPC_TIMEOUT)
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            report.already_done += 1
            return
        report.signalled += 1


def _signal(event: OutboxEvent) -> JourneyEventSignal:
    return JourneyEventSignal(
        event_id=event.event_id, name=event.name, properties=event.properties, timestamp=event.occurred_at
    )


def _entered(enrollment: JourneyEnrollment) -> OutboxEvent:
    """journey.entered for an enrollment; its event id names the (journey, contact) pair (entered once, ever), so
    a repeated write queues no second delivery."""
    properties = {
        "version": enrollment.version, "workflow_id": enrollment.workflow_id,
        "trigger_event_id": enrollment.trigger_event_id,
    }  # fmt: skip
    return OutboxEvent(
        enrollment.workspace_id, enrollment.contact_id, journey_event_id(enrollment.journey_id, enrollment.contact_id),
        enrollment.journey_id, properties,
        enrollment.entered_at, OutboxKind.JOURNEY_ENTERED,
    )  # fmt: skip
