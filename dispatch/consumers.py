"""The registry of dispatcher consumers: contexts that act on outbox rows before journeys are routed.

A consumer sees every claimed batch (in id order, so per contact in order) and picks the rows of the kinds it
handles: scoring updates scores from events, segments re-evaluate the contacts an event or a contact change can
affect, double opt-in requests become confirmation emails, automatic merges start their workflow, outbound
webhooks turn rows into deliveries. What a consumer produces for later consumers (a segment entry, a score
crossing) it writes as new outbox rows in its own transaction, so they are dispatched like any other row, journeys
included.

At-least-once, like the journey calls: a crash after a consumer ran and before the rows were deleted gives it
the same rows again, so `consume` must be idempotent (ledger rows keyed by event, state-based re-evaluation,
deliveries keyed by row). A consumer that raises fails the batch's rows, which are retried with backoff and
parked after dispatcher.MAX_ATTEMPTS, one row at a time, so one bad row does not hold back the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.consent import ConfirmationConsumer
from dispatch.merges import MergeConsumer
from dispatch.scoring import scoring_consumer
from dispatch.segments import segment_consumer
from dispatch.webhooks import WebhookConsumer
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.outbox import OutboxRow


class Consumer(Protocol):
    async def consume(self, rows: Sequence[OutboxRow]) -> None:
        """Act on the rows of the kinds this consumer handles (idempotently); raise to have them retried."""
        ...

    def forget(self, workspace_id: str) -> None:
        """Drop what is cached about the workspace: something this consumer depends on changed."""
        ...


ConsumerFactory = Callable[[async_sessionmaker[AsyncSession], Settings, TemporalGateway], Consumer]

# Run in this order, before journeys: scoring before segments (segment filters read scores).
CONSUMERS: tuple[ConsumerFactory, ...] = (
    scoring_consumer, segment_consumer, ConfirmationConsumer, MergeConsumer, WebhookConsumer  # webhooks last
)  # fmt: skip


def build_consumers(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, temporal: TemporalGateway
) -> list[Consumer]:
    return [factory(sessions, settings, temporal) for factory in CONSUMERS]
