"""Announcing a journey execution's normal end to outbound webhooks (journey.completed).

Run by the journey workflow as its last command, only when the dispatcher started it for a workspace with an
endpoint subscribed to journey.completed (JourneyInput.announce_completion). The outbox row's event id names the
(journey, contact) pair (one execution, ever), so a retried announcement queues no second delivery."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.journeys.contracts import (
    ANNOUNCE_JOURNEY_COMPLETED,
    AnnounceJourneyCompletedInput,
    AnnounceJourneyCompletedOutput,
)
from domain.clock import utcnow
from domain.events.interest import OutboxKind
from domain.journeys.runtime import journey_event_id
from domain.outbound_webhooks.events import WebhookEventType
from store.outbox import OutboxEvent, enqueue
from store.webhook_endpoints import SubscribedTypes


def completed_event(request: AnnounceJourneyCompletedInput) -> OutboxEvent:
    properties = {
        "version": request.version, "workflow_id": request.workflow_id, "last_step": request.last_step,
        "steps_run": request.steps_run,
    }  # fmt: skip
    return OutboxEvent(
        request.workspace_id, request.contact_id, journey_event_id(request.journey_id, request.contact_id),
        request.journey_id, properties, utcnow(), OutboxKind.JOURNEY_COMPLETED,
    )  # fmt: skip


class JourneyAnnouncementActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], subscribed: SubscribedTypes | None = None) -> None:
        self._sessions = sessions
        self._subscribed = subscribed or SubscribedTypes(sessions)

    @activity.defn(name=ANNOUNCE_JOURNEY_COMPLETED)
    async def announce_completed(self, request: AnnounceJourneyCompletedInput) -> AnnounceJourneyCompletedOutput:
        if not await self._subscribed.wants(request.workspace_id, WebhookEventType.JOURNEY_COMPLETED):
            return AnnounceJourneyCompletedOutput(announced=False)
        async with self._sessions() as session:
            await enqueue(session, [completed_event(request)], utcnow())
            await session.commit()
        return AnnounceJourneyCompletedOutput(announced=True)
