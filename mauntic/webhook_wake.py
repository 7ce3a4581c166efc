"""Waking the outbound webhook delivery workflow (starting it when it is not running), and replaying one delivery:
what the dispatcher's consumer, the API and the dead-letter replay tooling share."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.common import WorkflowIDConflictPolicy

from activities.webhooks.contracts import (
    DELIVERY_WORKFLOW,
    WAKE_SIGNAL,
    Wake,
    WebhookDeliveriesInput,
    delivery_workflow_id,
)
from domain.clock import utcnow
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store import webhook_deliveries


def delivery_input(settings: Settings) -> WebhookDeliveriesInput:
    return WebhookDeliveriesInput(chunk_size=settings.webhook_chunk_size, lease_seconds=settings.webhook_lease_seconds)


async def wake_deliveries(temporal: TemporalGateway, settings: Settings | None, reason: str) -> None:
    """Signal-with-start: one call whether or not the workflow runs; Temporal errors propagate to the caller."""
    client = await temporal.client()
    await client.start_workflow(
        DELIVERY_WORKFLOW,
        delivery_input(settings) if settings else WebhookDeliveriesInput(),
        id=delivery_workflow_id(temporal.task_queue),
        task_queue=temporal.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        start_signal=WAKE_SIGNAL,
        start_signal_args=[Wake(reason=reason)],
    )


async def redeliver(
    sessions: async_sessionmaker[AsyncSession],
    temporal: TemporalGateway,
    settings: Settings,
    delivery_id: str,
    *,
    if_delivered: bool = False,
) -> str | None:
    """Deliver one delivery again, idempotently: the same `webhook-id` and body (receivers dedupe on the id), and
    a delivery that already succeeded is left alone unless `if_delivered` (an explicit resend). For the dead-letter
    replay tooling (kind `webhook_delivery`, subject the delivery id). Returns the status the delivery had
    (None: no such delivery)."""
    async with sessions() as session:
        before = await webhook_deliveries.redeliver(session, delivery_id, utcnow(), if_delivered=if_delivered)
        await session.commit()
    if before is not None and (before != "delivered" or if_delivered):
        await wake_deliveries(temporal, settings, f"redeliver {delivery_id}")
    return before
