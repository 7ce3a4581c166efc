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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
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
from store.contacts import contact_facts
from store.journey_intents import count_intents
from store.journeys import enroll_all, enrollments_for, paused_journey_ids, published_versions, record_reentry
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
    signalled: frozenset[str]  # event names its runs are signalled: waits, goals, exit criteria
    segments: frozenset[tuple[str, str]]  # (segment_entered|segment_exited, segment id) a goal or exit watches
    carried: bool  # small enough to go in the start's input
    paused: bool = False  # paused journey: a contact entering starts with its sends held (JourneyInput.paused)

    @classmethod
    def of(
        cls, journey_id: str, version: int, definition: JourneyDefinition, size: int, *, paused: bool = False
    ) -> PublishedJourney:
        signalled, segments = definition.signalled_event_names(), definition.criteria_segments()
        carried = size <= CARRIED_DEFINITION_BYTES
        return cls(journey_id, version, definition, frozenset(signalled), frozenset(segments), carried, paused)

    def concerns(self, event: OutboxEvent) -> bool:
        return self.waits_for(event) or self.starts_on(event) or self.counts(event)

    def starts_on(self, event: OutboxEvent) -> bool:
        """Whether the row enters a contact by itself (an intent also needs its count: `counts`)."""
        if event.kind == OutboxKind.ENROLL:
            return event.name == self.journey_id
        return self.definition.trigger.accepts(event.kind, event.name, event.properties)

    def counts(self, event: OutboxEvent) -> bool:
        intent = self.definition.trigger.intent
        return intent is not None and event.kind == OutboxKind.EVENT and intent.counts(event.name, event.properties)

    def waits_for(self, event: OutboxEvent) -> bool:
        """Whether a run of this journey is signalled the row: an event a step, goal or exit names, a segment
        change a goal or exit watches, or a contact change when one is a condition on attributes."""
        if event.kind == OutboxKind.EVENT:
            return event.name in self.signalled
        if event.kind == OutboxKind.CONTACT:
            return self.definition.watches_contact
        return (event.kind, event.name) in self.segments


@dataclass(frozen=True)
class Enter:
    enrollment: JourneyEnrollment
    journey: PublishedJourney
    event: OutboxEvent
    entry: int = 1  # > 1: a re-entry (the enrollment's `entries` is one less until the start succeeds)


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
            paused = await paused_journey_ids(session, workspace_id)
        return [
            PublishedJourney.of(
                row.journey_id,
                row.version,
                JourneyDefinition.model_validate(row.definition),
                definition_size(row.definition),
                paused=row.journey_id in paused,
            )
            for row in rows
        ]

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
            intents = {j.journey_id: j.definition.trigger.intent for j in interested if j.definition.trigger.intent}
            completed = (
                await count_intents(session, workspace_id, intents, [r.event for r in rows]) if intents else set()
            )
            known = await enrollments_for(session, workspace_id, contacts, ids)
            enrolled = {(e.journey_id, e.contact_id): e for e in known}

            def starts(journey: PublishedJourney, event: OutboxEvent) -> bool:
                return journey.starts_on(event) or (journey.journey_id, event.event_id) in completed

            entering = self._entering(workspace_id, rows, interested, enrolled, starts)
            if entering:
                announce = await self._subscribed.wants(workspace_id, WebhookEventType.JOURNEY_ENTERED)
                await enroll_all(session, entering)
                if announce:  # in the enrollment's transaction: once per entry, never for one that did not happen
                    await enqueue(session, [_entered(e) for e in entering], utcnow())
            if entering or intents:
                await session.commit()
            if entering:
                stored = await enrollments_for(session, workspace_id, [e.contact_id for e in entering], ids)
                enrolled.update({(e.journey_id, e.contact_id): e for e in stored})
            watched = [row.event.contact_id for row in rows if row.event.kind == OutboxKind.CONTACT]
            facts = await contact_facts(session, workspace_id, watched) if watched else {}
        calls: dict[int, list[Call]] = {}
        inside = {(e.journey_id, e.contact_id) for e in known}  # who a signal can reach, in the rows' order
        new = {(e.journey_id, e.contact_id) for e in entering}
        for row in rows:
            event = row.event
            for journey in interested:
                key = (journey.journey_id, event.contact_id)
                if starts(journey, event) and key in enrolled:
                    entry = _reentry(journey, enrolled[key], event) if key not in new else 1
                    if entry is not None:
                        calls.setdefault(row.id, []).append(Enter(enrolled[key], journey, event, entry))
                        inside.add(key)
                        continue
                if journey.waits_for(event) and key in inside:
                    watched_contact = event.kind == OutboxKind.CONTACT and event.contact_id in facts
                    signalled = replace(event, properties=facts[event.contact_id]) if watched_contact else event
                    calls.setdefault(row.id, []).append(Signal(enrolled[key].workflow_id, signalled))
        return calls

    @staticmethod
    def _entering(
        workspace_id: str,
        rows: list[OutboxRow],
        journeys: list[PublishedJourney],
        enrolled: dict[tuple[str, str], JourneyEnrollment],
        starts: Callable[[PublishedJourney, OutboxEvent], bool],
    ) -> list[JourneyEnrollment]:
        new: dict[tuple[str, str], JourneyEnrollment] = {}
        for row in rows:
            event = row.event
            for journey in journeys:
                key = (journey.journey_id, event.contact_id)
                if key in enrolled or key in new or not starts(journey, event):
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
        reentry = call.entry > 1  # on the journey's current version, triggered by this row
        version = journey.version if reentry else enrollment.version
        trigger_event_id = call.event.event_id if reentry else enrollment.trigger_event_id
        return JourneyInput(
            workspace_id=enrollment.workspace_id,
            journey_id=enrollment.journey_id,
            version=version,
            contact_id=enrollment.contact_id,
            trigger_event_id=trigger_event_id,
            entry=call.entry,
            # an enrollment from an earlier version, or a large definition: the run loads it
            definition=journey.definition if journey.carried and version == journey.version else None,
            trigger=_signal(call.event) if call.event.event_id == trigger_event_id else None,
            announce_completion=await self._subscribed.wants(
                enrollment.workspace_id, WebhookEventType.JOURNEY_COMPLETED
            ),
            paused=journey.paused,
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
                # a re-entry reuses the id once the previous run has ended (a running one refuses the start)
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE
                if call.entry > 1
                else WorkflowIDReusePolicy.REJECT_DUPLICATE,
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
        if call.entry > 1:
            async with self._sessions() as session:
                await record_reentry(
                    session, enrollment, call.entry, journey_input.trigger_event_id, journey_input.version
                )
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
        event_id=event.event_id,
        name=event.name,
        properties=event.properties,
        timestamp=event.occurred_at,
        kind=event.kind,
    )


def _reentry(journey: PublishedJourney, enrollment: JourneyEnrollment, event: OutboxEvent) -> int | None:
    """The entry number a trigger row for an enrolled contact starts, or None: the journey's re-entry policy
    (never; after the previous run ended, which the start itself finds out; after a cool-down since the previous
    entry; at most max_entries), and never twice for the same row (the enrollment records its latest trigger)."""
    if event.event_id == enrollment.trigger_event_id:  # the latest entry's own row, dispatched again
        return 1 if enrollment.entries == 1 else None  # (a re-entry is recorded only once its run started)
    policy = journey.definition.reentry
    if policy is None or not policy.allows_reentry:
        return None
    if policy.max_entries is not None and enrollment.entries >= policy.max_entries:
        return None
    if policy.cooldown is not None and event.occurred_at < enrollment.entered_at + policy.cooldown:
        return None
    return enrollment.entries + 1


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
