"""Segment benchmarks: set-based diff of ten segments, real-time update latency, and paced journey entry.

`python -m bench.segments [--database-url URL] [--contacts 1000000] [--events 2000000] [--rate 100] ...`

1. diff: seeds N contacts and M events (bench.seed), saves ten mixed attribute/behavioural segments and builds
   them, changes a little (new events, edited contacts, an hour passes), then times the incremental diff of the
   ten over every contact (target < 5 s);
2. latency: events written as ingestion writes them (event row + outbox row, one transaction) at `--eps` per
   second for `--seconds`, drained by a real dispatcher running the segments consumer; the time from an event's
   commit to its contact's segments being updated (target p99 < 1 s at 200 events/s);
3. entries: `--entries` contacts enter a segment that triggers a published journey; the dispatcher starts the
   journeys on a local Temporal dev server, paced at `--rate` per second (target: within 1 %, none twice).

Without --database-url it runs on a temporary SQLite file; PostgreSQL: a URL to an empty database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from bench.seed import contact_id, seed
from dispatch.dispatcher import Dispatcher
from dispatch.journeys import JourneyRouter
from dispatch.segments import SegmentConsumer
from domain.clock import utcnow
from domain.ids import new_id
from domain.segments.filters import parse_filter, to_json
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.db import create_async_db_engine, session_factory
from store.models import Event, Journey, JourneyEnrollment, JourneyVersion, Workspace
from store.models_segments import Segment
from store.outbox import OUTBOX, OutboxEvent, OutboxRow, enqueue
from store.outbox_wake import DispatchWaker
from store.segment_sql import CONTACT, EVERYONE, Scope, time_candidates
from store.segments import apply_diff, load
from workflows.search_attributes import ALL_SEARCH_ATTRIBUTES

Sessions = async_sessionmaker[AsyncSession]
TEN: list[dict[str, Any]] = [
    {"attribute": "plan", "op": "eq", "value": "pro"},
    {
        "and": [
            {"attribute": "country", "op": "in", "value": ["DE", "FR"]},
            {"attribute": "age", "op": "gte", "value": 30},
        ]
    },
    {"attribute": "lifetime_value", "op": "gt", "value": 2500.5},
    {
        "event": "Page Viewed",
        "where": [{"property": "path", "op": "eq", "value": "/pricing"}],
        "count": {"op": "gte", "value": 3},
        "window": {"days": 7},
    },
    {"event": "Order Completed", "window": {"days": 14}},
    {"event": "Email Opened", "count": {"op": "eq", "value": 0}, "window": {"days": 10}},
    {"and": [{"attribute": "plan", "op": "eq", "value": "free"}, {"event": "Added to Cart", "window": {"days": 3}}]},
    {"or": [{"attribute": "beta", "op": "eq", "value": True}, {"event": "Demo Requested"}]},
    {
        "and": [
            {"field": "created_at", "op": "within", "days": 90},
            {"not": {"attribute": "plan", "op": "eq", "value": "enterprise"}},
        ]
    },
    {
        "and": [
            {"attribute": "plan", "op": "in", "value": ["pro", "enterprise"]},
            {"event": "Page Viewed", "window": {"days": 2}},
        ]
    },
]


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def _save_segments(sessions: Sessions, ws: str, filters: list[dict[str, Any]]) -> list[Segment]:
    rows = [
        Segment(id=new_id("sg"), workspace_id=ws, name=f"bench {i}", filter=to_json(parse_filter(f)))
        for i, f in enumerate(filters)
    ]
    async with sessions() as session:
        session.add_all(rows)
        await session.commit()
    return rows


async def _clear_outbox(sessions: Sessions, ws: str) -> None:
    async with sessions() as session:
        await session.execute(OUTBOX.delete().where(OUTBOX.c.workspace_id == ws))
        await session.commit()


async def diff_phase(sessions: Sessions, ws: str, contacts: int, seeded_now: Any) -> None:
    segments = await _save_segments(sessions, ws, TEN)
    started = time.perf_counter()
    sizes = []
    for row in segments:
        async with sessions() as session, session.begin():
            diff = await apply_diff(session, ws, load(row), seeded_now, EVERYONE, entry_rate=0)
            sizes.append(len(diff.entered))
    build = time.perf_counter() - started
    print(f"diff: initial build of 10 segments over {contacts:,} contacts: {build:.1f} s; members {sizes}")
    await _clear_outbox(sessions, ws)
    later = seeded_now + timedelta(hours=1)
    async with sessions() as session:  # a little changes: 2,000 new events, 1,000 contacts edited
        step = max(1, contacts // 2000)
        session.add_all(
            Event(
                id=new_id("ev"),
                workspace_id=ws,
                message_id=new_id("m"),
                type="track",
                name=name,
                contact_id=contact_id(n % contacts, ws),
                properties={"path": "/pricing"},
                timestamp=later,
            )
            for n in range(0, contacts, step)
            for name in ("Page Viewed",)
        )
        edited = [contact_id(n, ws) for n in range(0, contacts, max(1, contacts // 1000))]
        await session.execute(
            update(CONTACT)
            .where(CONTACT.c.id.in_(edited))
            .values(attributes={"plan": "pro", "beta": True}, updated_at=later)
        )
        await session.commit()
    started = time.perf_counter()
    moved = []
    for row in segments:
        async with sessions() as session, session.begin():
            diff = await apply_diff(session, ws, load(row), later, EVERYONE, entry_rate=0)
            moved.append((len(diff.entered), len(diff.exited)))
    seconds = time.perf_counter() - started
    print(
        f"diff: incremental diff of 10 segments over {contacts:,} contacts: {seconds:.2f} s (target < 5 s); "
        f"(entered, exited) {moved}"
    )
    await _clear_outbox(sessions, ws)
    # the scheduled refresh: only contacts whose events left a window (or whose dates crossed a cutoff) in the hour
    started = time.perf_counter()
    moved = []
    for row in segments:
        candidates = time_candidates(ws, load(row).filter, later, later + timedelta(hours=1))
        if candidates is None:
            continue
        async with sessions() as session, session.begin():
            diff = await apply_diff(session, ws, load(row), later + timedelta(hours=1), Scope(among=candidates),
                                    entry_rate=0)  # fmt: skip
            moved.append((len(diff.entered), len(diff.exited)))
    seconds = time.perf_counter() - started
    print(f"diff: scheduled (time-window) refresh of the time-based segments, an hour later: {seconds:.2f} s; "
          f"(entered, exited) {moved}")  # fmt: skip
    await _clear_outbox(sessions, ws)


class TimedConsumer:
    def __init__(self, inner: SegmentConsumer) -> None:
        self.inner = inner
        self.done: dict[str, float] = {}

    async def consume(self, rows: Sequence[OutboxRow]) -> None:
        await self.inner.consume(rows)
        now = time.perf_counter()
        for row in rows:
            self.done.setdefault(row.event.event_id, now)

    def forget(self, workspace_id: str) -> None:
        self.inner.forget(workspace_id)


async def latency_phase(sessions: Sessions, url: str, ws: str, contacts: int, eps: float, seconds: float) -> None:
    settings = Settings(database_url=url, temporal_address="unused:7233")
    consumer = TimedConsumer(SegmentConsumer(sessions, 0))
    router = JourneyRouter(sessions, TemporalGateway(settings), eager_start=False)
    dispatcher = Dispatcher(
        sessions, router, url, consumers=[consumer], batch_size=500, concurrency=16, poll_seconds=0.05
    )
    waker = DispatchWaker(url)
    sent: dict[str, float] = {}
    task = asyncio.create_task(dispatcher.run())
    await asyncio.sleep(1.0)
    try:
        n = int(eps * seconds)
        begin = time.perf_counter()
        for i in range(n):
            due = begin + i / eps
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            now = utcnow()
            contact = contact_id((i * 7919) % contacts, ws)
            event = Event(
                id=new_id("ev"),
                workspace_id=ws,
                message_id=new_id("m"),
                type="track",
                name="Page Viewed",
                contact_id=contact,
                properties={"path": "/pricing"},
                timestamp=now,
            )
            async with sessions() as session:
                session.add(event)
                await enqueue(session, [OutboxEvent(ws, contact, event.id, "Page Viewed", event.properties, now)], now)
                await session.commit()
            sent[event.id] = time.perf_counter()
            waker.wake()
        achieved = n / (time.perf_counter() - begin)
        deadline = time.perf_counter() + 60
        while len(consumer.done) < n and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        waker.close()
    waits = [consumer.done[e] - t for e, t in sent.items() if e in consumer.done]
    print(
        f"latency: {len(waits):,}/{len(sent):,} events at {achieved:.0f}/s (asked {eps:.0f}/s): event -> segments "
        f"updated p50 {_percentile(waits, 0.5) * 1000:.0f} ms, p99 {_percentile(waits, 0.99) * 1000:.0f} ms "
        f"(target p99 < 1000 ms)"
    )
    await _clear_outbox(sessions, ws)


async def entries_phase(sessions: Sessions, url: str, entries: int, rate: float) -> None:
    ws = "ws_entry"
    async with sessions() as session:  # (bench.seed opens its own connection, which the engine's pool would lock)
        session.add(Workspace(id=ws, name="entries"))
        await session.flush()
        rows = [{"id": f"{ws}_{n:07d}", "workspace_id": ws, "email": f"u{n}@example.com",
                 "attributes": {"plan": "pro"}, "created_at": utcnow(), "updated_at": utcnow()}
                for n in range(entries)]  # fmt: skip
        await session.execute(insert(CONTACT), rows)
        await session.commit()
    [segment] = await _save_segments(sessions, ws, [{"attribute": "plan", "op": "exists"}])
    journey = Journey(id=new_id("jr"), workspace_id=ws, name="entry bench", status="published", published_version=1)
    definition = {"trigger": {"segment_entered": segment.id}, "start": "end", "steps": [{"id": "end", "type": "end"}]}
    async with sessions() as session:
        session.add(journey)
        await session.flush()
        session.add(
            JourneyVersion(
                workspace_id=ws,
                journey_id=journey.id,
                version=1,
                definition=definition,
                trigger_event=f"segment_entered:{segment.id}",
            )
        )
        await session.commit()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=shutil.which("temporal") or str(Path(sys.executable).parent / "temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=ALL_SEARCH_ATTRIBUTES,
        ui=False,
    )
    try:
        settings = Settings(database_url=url, temporal_address="unused:7233")
        router = JourneyRouter(sessions, TemporalGateway(settings, env.client), eager_start=False)
        consumer = SegmentConsumer(sessions, rate)
        dispatcher = Dispatcher(
            sessions, router, url, consumers=[consumer], batch_size=500, concurrency=64, poll_seconds=0.05
        )
        task = asyncio.create_task(dispatcher.run())
        try:
            async with sessions() as session, session.begin():
                diff = await apply_diff(session, ws, load(segment), utcnow(), EVERYONE, entry_rate=rate)
            deadline = time.perf_counter() + entries / rate * 2 + 60
            enrolled = 0
            while enrolled < entries and time.perf_counter() < deadline:
                await asyncio.sleep(1.0)
                enrolled = await _count(sessions, journey.id)
            async with sessions() as session, session.begin():  # again: nobody enters twice
                again = await apply_diff(session, ws, load(segment), utcnow(), EVERYONE, entry_rate=rate)
            await asyncio.sleep(2.0)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        async with sessions() as session:
            first, last, count = (
                await session.execute(
                    select(
                        func.min(JourneyEnrollment.entered_at), func.max(JourneyEnrollment.entered_at), func.count()
                    ).where(JourneyEnrollment.journey_id == journey.id)  # type: ignore[arg-type]
                )
            ).one()
        started = (await env.client.count_workflows(f"MaunticJourney = '{journey.id}'")).count
        span = (last - first).total_seconds() if count > 1 else 0.0
        achieved = (count - 1) / span if span else float("nan")
        print(
            f"entries: {len(diff.entered):,} entered ({len(again.entered)} on the second diff); {count:,} enrolled, "
            f"{started:,} journey workflows started; paced at {achieved:.2f}/s for a configured {rate:.2f}/s "
            f"({(achieved / rate - 1) * 100:+.2f} %, target within 1 %); started twice: {max(0, started - entries)}"
        )
    finally:
        await env.shutdown()


async def _count(sessions: Sessions, journey_id: str) -> int:
    async with sessions() as session:
        query = select(func.count()).where(JourneyEnrollment.journey_id == journey_id)  # type: ignore[arg-type]
        return int((await session.execute(query)).scalar_one())


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="mauntic-bench-segments-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        seeded = seed(url, contacts=args.contacts, events=args.events)
        print(f"{'PostgreSQL' if url.startswith('postgres') else 'SQLite'}: {seeded.describe()}")
        engine = create_async_db_engine(url)
        try:
            sessions = session_factory(engine)
            if "diff" in args.phases:
                await diff_phase(sessions, seeded.workspace_id, args.contacts, seeded.now)
            if "latency" in args.phases:
                await latency_phase(sessions, url, seeded.workspace_id, args.contacts, args.eps, args.seconds)
            if "entries" in args.phases:
                await entries_phase(sessions, url, args.entries, args.rate)
        finally:
            await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--eps", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--phases", default="diff,latency,entries")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
