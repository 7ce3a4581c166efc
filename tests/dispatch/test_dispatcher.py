"""The dispatcher's batches against a real database: per-contact order, retries and parking, held-back contacts,
and N dispatchers sharing one outbox (PostgreSQL) or one owning it (SQLite)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from temporalio.service import RPCError, RPCStatusCode

from dispatch.dispatcher import MAX_ATTEMPTS, Dispatcher
from dispatch.journeys import Call, JourneyRouter, Report, Routed, Signal
from domain.clock import utcnow
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.models import DispatchOutbox
from store.outbox import OutboxEvent, OutboxRow, enqueue, totals
from store.outbox_wake import DispatchWaker
from tests.conftest import make_settings

Sessions = async_sessionmaker[AsyncSession]


class RecordingRouter(JourneyRouter):
    """Every row becomes one call, recorded in the order made; chosen event ids fail (once, or always)."""

    def __init__(self, sessions: Sessions, settings: Settings) -> None:
        super().__init__(sessions, TemporalGateway(settings), eager_start=False)
        self.made: list[tuple[str, str]] = []
        self.fail_once: dict[str, Exception] = {}
        self.fail_always: dict[str, Exception] = {}
        self.slow = 0.0

    async def route(self, rows: Sequence[OutboxRow]) -> Routed:
        routed = Routed({})
        for row in rows:
            call: list[Call] = [Signal(row.event.contact_id, row.event)]
            routed.by_contact.setdefault(row.event.contact_id, []).append((row, call))
        return routed

    async def call(self, call: Call, report: Report) -> None:
        assert isinstance(call, Signal)
        event_id = call.event.event_id
        if self.slow:
            await asyncio.sleep(self.slow)
        if event_id in self.fail_always:
            raise self.fail_always[event_id]
        if event_id in self.fail_once:
            raise self.fail_once.pop(event_id)
        self.made.append((call.event.contact_id, event_id))
        report.signalled += 1


def dispatcher(
    sessions: Sessions, settings: Settings, router: JourneyRouter, batch: int = 500, poll: float = 0.05
) -> Dispatcher:
    return Dispatcher(
        sessions, router, settings.resolved_database_url, batch_size=batch, concurrency=16, poll_seconds=poll
    )


async def queue(sessions: Sessions, events: list[tuple[str, str]]) -> None:
    """(contact, event id) pairs, in this order."""
    now = utcnow()
    async with sessions() as session:
        await enqueue(session, [OutboxEvent("ws_test", c, e, "Clicked", {}, now) for c, e in events], now)
        await session.commit()


async def rows(sessions: Sessions) -> list[DispatchOutbox]:
    async with sessions() as session:
        result = await session.execute(select(DispatchOutbox).order_by(col(DispatchOutbox.id)))
        return list(result.scalars())


async def make_due(sessions: Sessions) -> None:
    async with sessions() as session:
        await session.execute(update(DispatchOutbox).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        await session.commit()


async def test_a_failed_event_holds_back_its_contacts_later_events_only(sessions: Sessions, settings: Settings) -> None:
    router = RecordingRouter(sessions, settings)
    router.fail_once["a2"] = ValueError("a bug in one event")
    await queue(sessions, [("a", "a1"), ("b", "b1"), ("a", "a2"), ("b", "b2"), ("a", "a3"), ("b", "b3")])
    first = await dispatcher(sessions, settings, router).drain_once()

    assert [e for c, e in router.made if c == "a"] == ["a1"]  # a3 did not overtake a2
    assert [e for c, e in router.made if c == "b"] == ["b1", "b2", "b3"]
    assert first.unreachable is None
    left = await rows(sessions)
    assert [(r.event_id, r.attempts) for r in left] == [("a2", 1), ("a3", 0)]
    assert left[0].next_attempt_at is not None
    assert left[0].next_attempt_at > utcnow()
    assert "a bug in one event" in (left[0].last_error or "")

    again = await dispatcher(sessions, settings, router).drain_once()  # a2 waits for its retry; a3 behind it
    assert (again.done, [e for c, e in router.made if c == "a"]) == ([], ["a1"])
    await make_due(sessions)
    await dispatcher(sessions, settings, router).drain_once()
    assert [e for c, e in router.made if c == "a"] == ["a1", "a2", "a3"]
    assert await rows(sessions) == []


async def test_an_event_failing_for_good_is_parked_and_stops_holding_its_contact_back(
    sessions: Sessions, settings: Settings
) -> None:
    router = RecordingRouter(sessions, settings)
    router.fail_always["p1"] = ValueError("never works")
    await queue(sessions, [("p", "p1"), ("p", "p2")])
    for _ in range(MAX_ATTEMPTS):
        await dispatcher(sessions, settings, router).drain_once()
        await make_due(sessions)
    await dispatcher(sessions, settings, router).drain_once()  # p2, no longer behind p1
    [parked] = await rows(sessions)
    assert (parked.event_id, parked.attempts, parked.parked_at is not None) == ("p1", MAX_ATTEMPTS, True)
    assert router.made == [("p", "p2")]
    async with sessions() as session:
        assert (await totals(session)).parked >= 1


async def test_while_temporal_is_unreachable_the_batch_stops_and_nothing_is_lost(
    sessions: Sessions, settings: Settings
) -> None:
    router = RecordingRouter(sessions, settings)
    router.fail_once["u1"] = RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
    router.slow = 0.01  # other contacts' calls are still under way when the failure comes
    await queue(sessions, [("u", "u1"), *((f"c{n}", f"e{n}") for n in range(40))])
    result = await dispatcher(sessions, settings, router).drain_once()
    assert result.unreachable is not None
    left = {r.event_id: r.attempts for r in await rows(sessions)}
    assert left["u1"] == 1  # the failed one is counted; the rest are untouched and due again
    assert all(attempts == 0 for event_id, attempts in left.items() if event_id != "u1")
    assert len(left) + len(router.made) == 41
    await make_due(sessions)
    while await rows(sessions):
        await dispatcher(sessions, settings, router).drain_once()
    assert sorted(e for _, e in router.made) == sorted(["u1", *(f"e{n}" for n in range(40))])


@pytest.fixture
def postgres_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL")


@pytest.mark.usefixtures("postgres_only")
async def test_a_contact_whose_earlier_event_another_dispatcher_holds_waits(
    sessions: Sessions, settings: Settings
) -> None:
    router = RecordingRouter(sessions, settings)
    await queue(sessions, [("h", "h1"), ("h", "h2"), ("o", "o1")])
    first = (await rows(sessions))[0]
    async with sessions() as other:  # another dispatcher's batch holds h1
        await other.execute(text("SELECT id FROM dispatch_outbox WHERE id = :id FOR UPDATE"), {"id": first.id})
        await dispatcher(sessions, settings, router).drain_once()
        assert router.made == [("o", "o1")]  # h2 may not go before h1
        await other.rollback()
    await dispatcher(sessions, settings, router).drain_once()
    assert router.made == [("o", "o1"), ("h", "h1"), ("h", "h2")]


async def test_concurrent_dispatchers_take_every_event_exactly_once_in_contact_order(
    sessions: Sessions, database_url: str
) -> None:
    """PostgreSQL: three dispatchers share the outbox (SKIP LOCKED). SQLite: one owns it, the others stand by."""
    settings = make_settings(database_url)
    router = RecordingRouter(sessions, settings)
    router.slow = 0.001
    events = [(f"k{n % 50}", f"ev{n}-{uuid.uuid4().hex[:6]}") for n in range(600)]
    await queue(sessions, events)
    dispatchers = [dispatcher(sessions, settings, router, batch=40) for _ in range(3)]
    tasks = [asyncio.create_task(d.run()) for d in dispatchers]
    try:
        async with asyncio.timeout(60):
            while await rows(sessions):
                await asyncio.sleep(0.05)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert sorted(router.made) == sorted(events)  # each once: none lost, none taken twice
    for contact in {c for c, _ in events}:
        assert [e for c, e in router.made if c == contact] == [e for c, e in events if c == contact]


async def test_writers_wake_the_dispatcher_and_say_what_changed(sessions: Sessions, settings: Settings) -> None:
    """SQLite: a datagram to the owner's socket; PostgreSQL: NOTIFY. Both reach a running dispatcher's loop."""
    forgotten: list[str] = []

    class Forgetting(RecordingRouter):
        def forget(self, workspace_id: str) -> None:
            forgotten.append(workspace_id)

    router = Forgetting(sessions, settings)
    running = dispatcher(sessions, settings, router, poll=3600.0)  # only a wake-up makes it look again
    waker = DispatchWaker(settings.resolved_database_url)
    task = asyncio.create_task(running.run())
    try:
        async with asyncio.timeout(20):
            while not forgotten:  # until it listens
                async with sessions() as session:
                    await waker.workspace_changed(session, "ws_changed")
                await asyncio.sleep(0.05)
            assert forgotten[0] == "ws_changed"
            await queue(sessions, [("w", "w1")])
            waker.wake()
            while not router.made:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        waker.close()
    assert router.made == [("w", "w1")]
