"""The dispatcher: drains the outbox in batches and hands each event to the contact's journeys.

It runs inside `mauntic worker` by default (one per worker process, sharing its Temporal client, so journey
starts can be eager) or alone as `mauntic dispatcher`. Any number may run against PostgreSQL; against SQLite one
process owns the outbox and the others stand by.

A batch: claim due rows (oldest first), hold back contacts whose earlier rows are elsewhere (per-contact order),
hand them to the consumers (dispatch/consumers.py: scoring, segments, outbound webhooks), decide each row's
journey calls, run them — one contact's calls in order, contacts concurrently — then delete the rows
whose calls all succeeded and schedule a retry for the one that failed (its contact's later rows stay, held back
behind it). At-least-once: a crash after the calls and before the delete dispatches those rows again, which the
calls' idempotency absorbs (dispatch/journeys.py).

Temporal unreachable: the first such failure in a batch stops its remaining calls; the loop then backs off
(0.5 s doubling to 30 s) while ingestion goes on storing.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.service import RPCError, RPCStatusCode

from dispatch.consumers import Consumer
from dispatch.journeys import Call, JourneyRouter, Report
from dispatch.wakeup import Wakeup, postgres_listener, sqlite_owner
from domain.clock import utcnow
from store.db import is_sqlite
from store.outbox import Failure, OutboxRow, Totals, add_totals, backoff, claim, complete, fail, held_back

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10  # for failures other than Temporal being unreachable, which are retried for as long as it lasts
_TRANSIENT_RPC = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.ABORTED,
    RPCStatusCode.UNKNOWN,
}
_MAX_PAUSE_SECONDS = 30.0


def unreachable(exc: BaseException) -> bool:
    """Temporal (or the database) could not be reached: worth retrying for as long as it takes."""
    if isinstance(exc, RPCError):
        return exc.status in _TRANSIENT_RPC
    return isinstance(exc, OSError | TimeoutError | OperationalError | RuntimeError)


@dataclass
class BatchResult:
    done: list[int] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    report: Report = field(default_factory=Report)
    unreachable: BaseException | None = None
    taken: int = 0


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        router: JourneyRouter,
        database_url: str,
        *,
        consumers: Sequence[Consumer] = (),
        batch_size: int,
        concurrency: int,
        poll_seconds: float,
    ) -> None:
        self._sessions = sessions
        self._router = router
        self._consumers = list(consumers)
        self._database_url = database_url
        self._batch_size = batch_size
        self._limit = asyncio.Semaphore(concurrency)
        self._poll = poll_seconds
        self._postgres = not is_sqlite(database_url)
        self.wakeup = Wakeup(self._forget)
        engine = sessions.kw["bind"].execution_options(isolation_level="AUTOCOMMIT")
        self._autocommit = async_sessionmaker(engine, expire_on_commit=False)
        self.owner = socket.gethostname()[:200]

    def _forget(self, workspace_id: str) -> None:
        self._router.forget(workspace_id)
        for consumer in self._consumers:
            consumer.forget(workspace_id)

    async def run(self) -> None:
        """Until cancelled."""
        listening = postgres_listener if self._postgres else sqlite_owner
        async with listening(self._database_url, self.wakeup):
            log.info("dispatcher: draining the outbox")
            pause = 0.0
            while True:
                try:
                    result = await self.drain_once()
                except (SQLAlchemyError, OSError) as exc:
                    log.warning("dispatcher: a batch failed (%r); retrying", exc)
                    result = BatchResult(unreachable=exc)
                if result.unreachable is not None:
                    pause = min(_MAX_PAUSE_SECONDS, max(0.5, pause * 2))
                    log.warning("dispatcher: cannot reach Temporal (%r); next try in %.1f s", result.unreachable, pause)
                    await self.wakeup.wait(pause * random.uniform(0.8, 1.2))
                    continue
                pause = 0.0
                if result.taken < self._batch_size:  # drained: sleep until woken, or the poll
                    await self.wakeup.wait(self._poll)

    async def drain_once(self) -> BatchResult:
        """One batch. On PostgreSQL its rows stay locked (SKIP LOCKED for other dispatchers) until it is settled;
        on SQLite no transaction is held while Temporal is called, since it would block every writer."""
        if self._postgres:
            async with self._sessions() as session:
                rows = await self._claim(session)
                result = await self._dispatch(rows)
                await self._settle(session, result)
                await session.commit()
                return result
        async with self._sessions() as session:
            rows = await self._claim(session)
        result = await self._dispatch(rows)
        # autocommit: each statement takes and releases SQLite's write lock by itself, never held across an await
        async with self._autocommit() as session:
            await self._settle(session, result)
        return result

    async def _claim(self, session: AsyncSession) -> list[OutboxRow]:
        rows = await claim(session, utcnow(), self._batch_size)
        blocked = await held_back(session, rows)
        return [row for row in rows if row.id < blocked.get(row.event.contact_id, row.id + 1)]

    async def _dispatch(self, rows: list[OutboxRow]) -> BatchResult:
        result = BatchResult(taken=len(rows))
        if not rows:
            return result
        rows = await self._consume(rows, result)
        if not rows:
            return result
        routed = await self._router.route(rows)
        await asyncio.gather(*(self._contact(entries, result) for entries in routed.by_contact.values()))
        return result

    async def _consume(self, rows: list[OutboxRow], result: BatchResult) -> list[OutboxRow]:
        """The rows every consumer took. When the batch fails, each row is tried alone, and only those that fail
        alone are retried later (with the contact's later rows, which must not overtake them)."""
        if not self._consumers:
            return rows
        try:
            await self._run_consumers(rows)
            return rows
        except Exception as exc:
            if unreachable(exc):
                result.unreachable = exc
                return []
            if len(rows) == 1:
                self._failed(rows[0], exc, result)
                return []
        taken: list[OutboxRow] = []
        stopped: set[str] = set()
        for row in rows:
            if row.event.contact_id in stopped:
                continue
            try:
                await self._run_consumers([row])
            except Exception as exc:
                if unreachable(exc):
                    result.unreachable = exc
                    return taken
                self._failed(row, exc, result)
                stopped.add(row.event.contact_id)
                continue
            taken.append(row)
        return taken

    async def _run_consumers(self, rows: list[OutboxRow]) -> None:
        for consumer in self._consumers:
            await consumer.consume(rows)

    @staticmethod
    def _failed(row: OutboxRow, exc: BaseException, result: BatchResult) -> None:
        attempts = row.attempts + 1
        log.warning("dispatcher: event %s failed (attempt %d): %r", row.event.event_id, attempts, exc)
        retry = utcnow() + backoff(attempts) if attempts < MAX_ATTEMPTS else None
        result.failures.append(Failure(row.id, attempts, repr(exc), retry))

    async def _contact(self, entries: list[tuple[OutboxRow, list[Call]]], result: BatchResult) -> None:
        for row, calls in entries:
            if not calls:
                result.done.append(row.id)
                continue
            if result.unreachable is not None:
                return  # left as they are: due again once Temporal answers
            try:
                async with self._limit:
                    for call in calls:
                        await self._router.call(call, result.report)
            except Exception as exc:
                attempts = row.attempts + 1
                if unreachable(exc):
                    result.unreachable = result.unreachable or exc
                    retry: datetime | None = utcnow() + backoff(attempts)
                    result.failures.append(Failure(row.id, attempts, repr(exc), retry))
                else:
                    self._failed(row, exc, result)
                return  # the contact's later rows wait behind this one
            result.done.append(row.id)

    async def _settle(self, session: AsyncSession, result: BatchResult) -> None:
        if not result.done and not result.failures:
            return
        now = utcnow()
        await complete(session, result.done)
        await fail(session, result.failures, now)
        parked = sum(1 for f in result.failures if f.retry_at is None)
        await add_totals(session, self.owner, now, Totals(len(result.done), len(result.failures), parked))
