"""How each kind of dead letter is replayed: one registry entry per kind.

- send: the send runs again as the workflow `dead-letter-replay:<id>` (durable, with the journey's retry policy),
  under the original idempotency key, so a message sent meanwhile is not sent again (the replay is not even
  started when the log says `sent`); a `failed` message goes back to `pending` first, since its verdict would
  otherwise stand.
- dispatch: the parked outbox row is un-parked (attempts reset, due now) and the dispatchers apply it again.
- journey_step: the failed run is started again under its workflow id (only a failed run may be restarted:
  ALLOW_DUPLICATE_FAILED_ONLY), re-entering at the step it failed in (from the start when it failed before its
  first step). Sends already made are not repeated (their keys do not depend on the run); the failed step's own
  `failed` message goes back to `pending`, and its open `send` dead letter is marked replayed with it.
- webhook_delivery: the delivery (subject: its id) is due again with a fresh set of attempts, the same webhook-id
  and body (receivers dedupe on the id), and the delivery workflow is woken; one delivered meanwhile is left
  alone, so nothing goes out twice.
- crm_push: None yet; the CRM push puts its replayer here.

A kind whose entry is None is "not replayable yet": the service refuses it (API 409 `dead_letter_not_replayable`)
rather than pretending. A replayer returns what it did in words (stored as the item's resolution) or raises
`Skip` to leave the item open with the reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.dead_letters.contracts import REPLAY_SEND_WORKFLOW, ReplaySendInput
from domain.clock import utcnow
from domain.dead_letters.model import DeadLetterKind, DeadLetterStatus
from domain.journeys.runtime import WORKFLOW_NAME, JourneyInput, JourneyResume
from domain.outbound_webhooks.retry import DeliveryStatus
from mauntic.temporal import TemporalGateway
from mauntic.webhook_wake import wake_deliveries
from store import outbox, webhook_deliveries
from store.dead_letters import DeadLetterFilter, list_dead_letters, resolve
from store.messages import find_by_idempotency_key, retry_failed
from store.models import DeadLetter
from workflows.search_attributes import initial_search_attributes


class Skip(Exception):
    """The item cannot be replayed now (the reason says why and what to do); it stays open."""


@dataclass(frozen=True, slots=True)
class ReplayContext:
    session: AsyncSession
    temporal: TemporalGateway
    actor: str
    dry_run: bool


Replayer = Callable[[ReplayContext, DeadLetter], Awaitable[str]]


def replay_workflow_id(dead_letter_id: int) -> str:
    return f"dead-letter-replay:{dead_letter_id}"


async def replay_send(ctx: ReplayContext, row: DeadLetter) -> str:
    key = row.subject_id
    message = await find_by_idempotency_key(ctx.session, key)
    if message is not None and message.status == "sent":
        return f"message {message.id} was sent meanwhile: nothing sent again"
    if message is not None and message.status == "uncertain":
        raise Skip(f"message {message.id} is uncertain: resolve it with POST /v1/messages/{message.id}/resolve")
    workflow_id = replay_workflow_id(row.id or 0)
    if ctx.dry_run:
        return f"would run the send again as {workflow_id} (message {message.id if message else 'not claimed'})"
    if message is not None and await retry_failed(ctx.session, key):
        await ctx.session.commit()  # before the workflow can run the send, or it would find the old verdict
    data = row.input
    request = ReplaySendInput(
        dead_letter_id=row.id or 0,
        workspace_id=row.workspace_id,
        journey_id=str(data["journey_id"]),
        version=int(data["version"]),
        step_id=str(data["step_id"]),
        contact_id=str(data["contact_id"]),
        idempotency_key=key,
    )
    client = await ctx.temporal.client()
    await client.start_workflow(
        REPLAY_SEND_WORKFLOW,
        request,
        id=workflow_id,
        task_queue=ctx.temporal.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return f"send started again as {workflow_id} under key {key}"


async def replay_dispatch(ctx: ReplayContext, row: DeadLetter) -> str:
    row_id = int(row.input["outbox_id"])
    if ctx.dry_run:
        return f"would un-park outbox row {row_id}"
    if not await outbox.unpark(ctx.session, row_id):
        return f"outbox row {row_id} is no longer parked (applied or deleted): nothing to do"
    return f"outbox row {row_id} un-parked: the dispatchers apply it again"


async def replay_journey_step(ctx: ReplayContext, row: DeadLetter) -> str:
    data = row.input
    workflow_id = row.workflow_id or ""
    step_id = data.get("step_id")
    where = f"step {step_id!r}" if step_id else "the start"
    if ctx.dry_run:
        return f"would restart {workflow_id} at {where}"
    journey = JourneyInput(
        workspace_id=row.workspace_id,
        journey_id=str(data["journey_id"]),
        version=int(data["version"]),
        contact_id=str(data["contact_id"]),
        trigger_event_id=f"dead-letter-replay:{row.id}",
        resume=JourneyResume(step_id=str(step_id)) if step_id else None,
        send_gate=True,
    )
    key = f"{workflow_id}:{step_id}"
    if step_id and await retry_failed(ctx.session, key):
        await ctx.session.commit()  # before the restarted run reaches the step
    client = await ctx.temporal.client()
    try:
        await client.start_workflow(
            WORKFLOW_NAME,
            journey,
            id=workflow_id,
            task_queue=ctx.temporal.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=initial_search_attributes(journey),
        )
    except WorkflowAlreadyStartedError as exc:
        raise Skip(f"{workflow_id} is running or no longer failed: not restarted") from exc
    sibling = DeadLetterFilter(kind=DeadLetterKind.SEND, status=DeadLetterStatus.OPEN, subject_id=key)
    note = f"replayed with journey_step dead letter {row.id}"
    for send in await list_dead_letters(ctx.session, sibling, limit=1):
        await resolve(
            ctx.session, send.id or 0, status=DeadLetterStatus.REPLAYED, actor=ctx.actor, at=utcnow(), resolution=note
        )
    return f"{workflow_id} restarted at {where}"


async def replay_webhook_delivery(ctx: ReplayContext, row: DeadLetter) -> str:
    delivery_id = row.subject_id
    status = await webhook_deliveries.delivery_status(ctx.session, delivery_id)
    if status is None:
        raise Skip(f"delivery {delivery_id} no longer exists (its endpoint was deleted)")
    if status == DeliveryStatus.DELIVERED.value:
        return f"delivery {delivery_id} was delivered meanwhile: nothing sent"
    if ctx.dry_run:
        return f"would redeliver {delivery_id} ({status})"
    await webhook_deliveries.redeliver(ctx.session, delivery_id, utcnow(), if_delivered=False)
    await ctx.session.commit()  # before the wake: the woken workflow must find the delivery due
    await wake_deliveries(ctx.temporal, None, f"dead letter {row.id}")
    return f"delivery {delivery_id} is due again (same webhook-id); the delivery workflow was woken"


REPLAYERS: dict[DeadLetterKind, Replayer | None] = {
    DeadLetterKind.SEND: replay_send,
    DeadLetterKind.DISPATCH: replay_dispatch,
    DeadLetterKind.JOURNEY_STEP: replay_journey_step,
    # Filled by the context that owns the kind (outbound webhooks: redeliver by delivery id; CRM push).
    DeadLetterKind.WEBHOOK_DELIVERY: replay_webhook_delivery,
    DeadLetterKind.CRM_PUSH: None,
}
