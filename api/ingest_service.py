"""Segment ingestion: store a request's messages, with their outbox rows for journeys, in one transaction.

Batch semantics, as Segment's own API: the valid messages of a batch are accepted and the invalid ones (wrong
type, missing ids, over 32 KB, invalid email ...) are set aside in the rejected-messages store
(`GET /v1/ingest/rejections`, with the reason and the raw message); the answer is 200 with their count. Segment's
official libraries treat a 400 as final and drop the whole batch, so all-or-nothing silently lost the good
messages with the bad. A body that is no batch at all is still a 400, and so is an invalid message sent alone
(/v1/track ...), which is recorded too.

Only track events go to journeys, by event name (a journey trigger is an event name): each new one that a
dispatcher consumer cares about (api/dispatch_interest.py) is written to the dispatch outbox in the
transaction that stores it (store/events.py), and the request answers once that
transaction has committed. It does no Temporal round trip: the dispatcher (dispatch/) enters and signals
journeys from the outbox, and a Temporal outage only delays that, never the request.

Retries are safe: a message id already stored in the workspace is not stored again (its traits are not
re-applied, and it is not queued again), and the request still succeeds.

Requests are stored by group commit (api/ingest_commit.py): one transaction takes every request queued while
the previous one ran. A transaction is one synchronous function (store/events.py) run in one go: on PostgreSQL
through `AsyncSession.run_sync` (psycopg is natively async), on SQLite on one writer thread
(store/sqlite_writer.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from api.context import AppContext
from api.dispatch_interest import DispatchInterest
from api.errors import Unavailable
from api.ingest_commit import GroupCommitter, Outcome
from domain.events.segment import MessageType, RejectedMessage, SegmentMessage
from store.ingest_rejections import record_rejections
from store.outbox_wake import DispatchWaker
from store.sqlite_writer import SqliteWriter

log = logging.getLogger(__name__)

T = TypeVar("T")
_EXTRAS_KEY = "ingest_service"
# Concurrent ingestion transactions on PostgreSQL. Group commit makes each one carry whatever queued meanwhile,
# so a few suffice; more would only push the pool into creating (and dropping) overflow connections.
PG_CONSUMERS = 4


class AsyncSessionRunner:
    """PostgreSQL: a unit of work on the app's async engine, in one `run_sync` call."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def run(self, unit: Callable[[Session], T]) -> T:
        async with self._sessions() as session:
            result = await session.run_sync(unit)
            await session.commit()
            return result


class IngestService:
    def __init__(
        self,
        committer: GroupCommitter,
        waker: DispatchWaker,
        interest: DispatchInterest,
        sessions: async_sessionmaker[AsyncSession],
        rejections_keep: timedelta,
        rejections_cap: int,
    ) -> None:
        self.committer = committer
        self._waker = waker
        self._interest = interest
        self._sessions = sessions
        self._keep = rejections_keep
        self._cap = rejections_cap

    async def reject(
        self, workspace_id: str, endpoint: str, rejected: list[RejectedMessage], received_at: datetime
    ) -> None:
        """Record messages set aside. Were this to fail, the client is told to retry (503): a retry stores the good
        messages once (message ids) and records the rejections once (their digest)."""
        try:
            async with self._sessions() as session:
                await record_rejections(
                    session, workspace_id, endpoint, rejected, received_at, keep=self._keep, cap=self._cap
                )
                await session.commit()
        except SQLAlchemyError as exc:
            log.warning("ingest: recording %d rejected messages failed: %r", len(rejected), exc)
            raise Unavailable(
                "rejected messages could not be recorded; retry the request", code="store_unavailable"
            ) from exc

    async def ingest(self, workspace_id: str, messages: list[SegmentMessage]) -> Outcome:
        """Store the messages (validated, one request's) and queue their track events for journeys; the outcome
        names the messages the identity rules refused (stored neither as events nor on contacts: the caller
        records them as rejections)."""
        interest = await self._interest.of(workspace_id)
        outcome = await self.committer.record_outcome(workspace_id, messages, interest)
        stored = outcome.events
        if interest.contacts or any(e.type == MessageType.TRACK.value and interest.wants(e.name) for e in stored):
            self._waker.wake()  # SQLite's dispatcher; PostgreSQL's heard the transaction's NOTIFY
        return outcome


def ingest_service(context: AppContext) -> IngestService:
    """The app's service, built on first use (the SQLite writer thread and engine close with the context)."""
    service = context.extras.get(_EXTRAS_KEY)
    if not isinstance(service, IngestService):
        if context.engine.dialect.name == "sqlite":
            writer = SqliteWriter(context.settings.resolved_database_url)
            context.closers.append(writer.close)
            committer = GroupCommitter(writer, consumers=1)  # one writer thread anyway
        else:
            committer = GroupCommitter(AsyncSessionRunner(context.sessions), consumers=PG_CONSUMERS)
        settings = context.settings
        service = IngestService(
            committer,
            context.waker,
            context.interest,
            context.sessions,
            timedelta(days=settings.ingest_rejections_retention_days),
            settings.ingest_rejections_max_per_workspace,
        )
        context.extras[_EXTRAS_KEY] = service
    return service
