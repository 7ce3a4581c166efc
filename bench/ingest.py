"""Ingestion throughput and acknowledgement latency of the Segment-compatible API, on SQLite and PostgreSQL.

`python -m bench.ingest [--events N] [--database sqlite|postgresql|both]` starts the embedded stack (Temporal dev
server, `mauntic worker`, `mauntic api`) with a published journey whose trigger ("Signed Up") is 1 in 100 of the
events (by default), then measures:

(a) throughput: N events through /v1/batch, 100 per request, over several concurrent connections (target
    >= 5,000 events/s, no 503 and no retried batch); `--triggers PCT` makes PCT in 100 of them triggers (100: the
    burst run), and the dispatch lag is followed until it drains (journeys entered per second beside the
    ingestion rate; bench/dispatch_lag.py);
(b) latency: single /v1/track calls at a steady rate (open loop: each send is scheduled at a fixed instant
    whatever the earlier responses did), acknowledgement latency counted from that instant (target p99 < 50 ms);

and that every matching event entered the journey (journey_enrollment rows, Journey workflows started).
PostgreSQL runs in a throwaway database `mauntic_bench_<random>`, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from dataclasses import dataclass, field

import orjson
from sqlalchemy import text
from temporalio.client import Client
from temporalio.service import RPCError

from bench import postgres, segment
from bench.dispatch_lag import LagMonitor, LagReport
from bench.procstat import CpuUsage, report, sample, usage
from bench.rawhttp import HttpError, RawHttpClient
from bench.smtp_sink import CountingSink, counting_sink
from bench.stack import Stack, StackError, embedded_stack, publish_journey, run_main
from store.db import create_async_db_engine, session_factory

TARGET_EVENTS_PER_SECOND = 5_000
TARGET_P99_MS = 50.0
TRIGGER = "Signed Up"
BLOCK = 100  # one trigger event per block of this many events
POOL = 2_000  # distinct returning users the other events are about
OTHER_EVENTS = ("Page Viewed", "Product Viewed", "Added to Cart", "Checkout Started")
EMAIL_DOMAIN = "ingest.example.com"
JOURNEY: dict[str, object] = {
    "trigger": {"event": TRIGGER},
    "start": "welcome",
    "steps": [
        {"id": "welcome", "type": "send_email", "subject": "Welcome!", "text": "Hi {{ contact.first_name }}.",
         "next": "done"},
        {"id": "done", "type": "end"},
    ],
}  # fmt: skip


def events(count: int, run: str, triggers_pct: int = 1) -> tuple[list[segment.Message], int, int]:
    """`count` messages in blocks of 100: a new user's identify (with an email), then `triggers_pct` "Signed Up"
    (the first by that user, the others by users never identified, whose journeys skip their send), then events
    about returning users (page and product views, every tenth an identify). With 100 % every message is a
    trigger of a distinct user. Returns them, how many are triggers, and how many welcome emails to expect."""
    messages: list[segment.Message] = []
    triggers = welcomes = 0
    per_block = max(0, min(triggers_pct, BLOCK))
    for i in range(count):
        block, position = divmod(i, BLOCK)
        if per_block == BLOCK:
            messages.append(segment.track(f"{run}-new{i}", TRIGGER, {"plan": "pro", "source": "bench"}))
            triggers += 1
        elif position == 0:
            traits = {"email": f"{run}-new{block}@{EMAIL_DOMAIN}", "firstName": f"New{block}"}
            messages.append(segment.identify(f"{run}-new{block}", traits))
        elif position <= per_block:
            user = f"{run}-new{block}" if position == 1 else f"{run}-new{block}-{position}"
            messages.append(segment.track(user, TRIGGER, {"plan": "pro", "source": "bench"}))
            triggers += 1
            welcomes += position == 1
        elif position % 10 == 0:
            user = f"{run}-user{i % POOL}"
            messages.append(segment.identify(user, {"firstName": f"User{i % POOL}", "plan": "free", "visits": i}))
        else:
            name = OTHER_EVENTS[i % len(OTHER_EVENTS)]
            properties = {"path": f"/products/{i % 500}", "price": i % 97, "currency": "EUR"}
            messages.append(segment.track(f"{run}-user{i % POOL}", name, properties))
    return messages, triggers, welcomes


@dataclass
class Throughput:
    events: int
    wall: float
    stats: segment.IngestStats
    cpu: CpuUsage
    triggers: int = 0
    welcomes: int = 0
    lag: LagReport | None = None

    @property
    def rate(self) -> float:
        return self.events / self.wall if self.wall > 0 else 0.0


@dataclass
class Latency:
    sent: int
    wall: float
    rate: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    max_send_lag_ms: float = 0.0
    cpu: CpuUsage | None = None

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclass
class Entered:
    matched: int
    enrolled: int
    workflows: int | None
    emails: int


def _pids(stack: Stack) -> tuple[dict[str, int], dict[str, tuple[str, str]]]:
    """The stack's processes and ours; on PostgreSQL also the backends serving the benchmark's database (their
    process title names it), not the server's other work."""
    groups = {}
    if stack.database_url.startswith("postgresql"):
        database = stack.database_url.rsplit("/", 1)[-1]
        groups["postgres backends"] = ("postgres", f" {database} ")
    return stack.pids() | {"bench (driver)": os.getpid()}, groups


async def throughput(stack: Stack, args: argparse.Namespace, run: str) -> Throughput:
    messages, triggers, welcomes = events(args.events, run, args.triggers)
    bodies = [
        orjson.dumps(segment.batch_body(messages[i : i + args.batch])) for i in range(0, len(messages), args.batch)
    ]
    pending = iter(bodies)
    stats = segment.IngestStats()
    pids, groups = _pids(stack)
    monitor = LagMonitor(stack.api_url, stack.database_url, stack.workspace_id)
    await monitor.start()
    try:
        async with segment.ingestion_client(stack.api_url, stack.write_key, args.concurrency) as http:

            async def connection() -> None:
                for body in pending:  # the iterator is shared: each connection takes the next batch
                    await segment.post(http, "/v1/batch", body, stats)

            before = sample(pids, groups=groups)
            began = monitor.report.burst_began = time.monotonic()
            async with asyncio.timeout(args.timeout):
                await asyncio.gather(*(connection() for _ in range(args.concurrency)))
            ended = monitor.report.burst_ended = time.monotonic()
            after = sample(pids, groups=groups)
        print(f"batch: {len(messages) / (ended - began):,.0f} events/s ({stats.summary()}); draining the lag ...")
        await monitor.drained(triggers, args.drain_timeout)
    finally:
        await monitor.stop()
    wall = ended - began
    return Throughput(len(messages), wall, stats, usage(before, after, wall), triggers, welcomes, monitor.report)


async def latency(stack: Stack, args: argparse.Namespace, run: str) -> tuple[Latency, int]:
    """Open loop: request i is sent at start + i / rate, and its latency counts from that instant (so time spent
    waiting for a free connection counts too)."""
    total = int(args.rate * args.duration)
    result = Latency(sent=total, wall=0.0, rate=args.rate)
    triggers = 0
    loop = asyncio.get_running_loop()
    pids, groups = _pids(stack)
    http = RawHttpClient("127.0.0.1", stack.api_port, segment.basic_auth(stack.write_key), args.connections)

    async def send(message: segment.Message, scheduled: float) -> None:
        result.max_send_lag_ms = max(result.max_send_lag_ms, 1000 * (loop.time() - scheduled))
        path, body = segment.single_path_and_body(message)
        try:
            async with asyncio.timeout(30):
                outcome = str(await http.post(path, orjson.dumps(body)))
        except (OSError, TimeoutError, asyncio.IncompleteReadError, HttpError) as exc:
            outcome = type(exc).__name__
        if outcome == "200":
            result.latencies_ms.append(1000 * (loop.time() - scheduled))
        else:
            result.errors[outcome] = result.errors.get(outcome, 0) + 1

    try:
        tasks: list[asyncio.Task[None]] = []
        before = sample(pids, groups=groups)
        start = loop.time() + 0.05
        for i in range(total):
            if i % BLOCK == 1:
                message = segment.track(f"{run}-track-new{i}", TRIGGER, {"plan": "pro"})
                triggers += 1
            else:
                message = segment.track(f"{run}-track-user{i % POOL}", OTHER_EVENTS[i % len(OTHER_EVENTS)], {"i": i})
            scheduled = start + i / args.rate
            await asyncio.sleep(max(0.0, scheduled - loop.time()))
            tasks.append(asyncio.create_task(send(message, scheduled)))
        async with asyncio.timeout(args.timeout):
            await asyncio.gather(*tasks)
        result.wall = loop.time() - start
        result.cpu = usage(before, sample(pids, groups=groups), result.wall)
    finally:
        await http.aclose()
    return result, triggers


async def journeys_entered(stack: Stack, sink: CountingSink, matched: int, welcome_expected: int) -> Entered:
    """Wait (up to a minute) until the enrollments and the welcome emails stop growing, then count them."""
    engine = create_async_db_engine(stack.database_url)
    try:
        deadline = time.monotonic() + 60
        enrolled = -1
        while time.monotonic() < deadline:
            async with session_factory(engine)() as session:
                now = int((await session.execute(text("SELECT count(*) FROM journey_enrollment"))).scalar_one())
            if now == enrolled and now >= matched and sink.total >= welcome_expected:
                break
            enrolled = now
            await asyncio.sleep(1.0)
    finally:
        await engine.dispose()
    workflows: int | None
    try:
        client = await Client.connect(stack.temporal_target)
        workflows = (await client.count_workflows("WorkflowType = 'Journey'")).count
    except RPCError:
        workflows = None
    return Entered(matched, enrolled, workflows, sink.total)


def lag_lines(label: str, batch: Throughput) -> list[str]:
    stats, lag = batch.stats, batch.lag
    verdict = "met" if stats.clean() else "NOT met"
    lines = [
        f"[{label}] 503 x{stats.statuses[503]}, retried batches {stats.retried_batches}   "
        f"(target: no 503 and no retried batch: {verdict})"
    ]
    if lag is None:
        return lines
    lines.append(
        f"[{label}] ingestion {batch.rate:,.0f} events/s ({batch.triggers / batch.wall:,.0f} triggers/s) beside "
        f"journeys entered {lag.entered_rate_burst():,.0f}/s during the burst ({lag.entered_during_burst()} of "
        f"{batch.triggers}), {lag.entered_rate_overall(batch.triggers):,.0f}/s until the lag drained"
    )
    drain = lag.drain_seconds()
    drained = "NOT drained within the bound" if drain is None else f"drained to 0 {drain:.1f} s after the last batch"
    pending, oldest, peak = lag.max_pending(), lag.max_oldest(), lag.peak_dispatch_rate()
    extra = "" if pending is None else f"; max pending {pending}, oldest {oldest or 0.0:.1f} s"
    extra += "" if peak is None else f"; peak dispatch {peak:,.0f}/s (mauntic_dispatched_total)"
    lines.append(f"[{label}] dispatch lag {drained} (from the {lag.source}{extra})")
    return lines


def print_database(label: str, batch: Throughput, track: Latency, entered: Entered) -> None:
    print()
    verdict = "met" if batch.rate >= TARGET_EVENTS_PER_SECOND else "NOT met"
    print(f"[{label}] /v1/batch  {batch.rate:8,.0f} events/s   (target >= {TARGET_EVENTS_PER_SECOND:,}: {verdict})  "
          f"{batch.events:,} events in {batch.wall:.1f} s; {batch.stats.summary()}")  # fmt: skip
    p99 = track.percentile(0.99)
    verdict = "met" if p99 < TARGET_P99_MS and not track.errors else "NOT met"
    errors = ", ".join(f"{k} x{v}" for k, v in track.errors.items()) or "none"
    print(f"[{label}] /v1/track  p50 {track.percentile(0.5):.1f} ms  p95 {track.percentile(0.95):.1f} ms  "
          f"p99 {p99:.1f} ms  max {max(track.latencies_ms, default=float('nan')):.1f} ms   "
          f"(target p99 < {TARGET_P99_MS:.0f} ms: {verdict})")  # fmt: skip
    print(f"[{label}]            {track.sent} requests at {track.rate:.0f}/s over {track.wall:.1f} s; "
          f"errors: {errors}; client send lag max {track.max_send_lag_ms:.1f} ms")  # fmt: skip
    print("\n".join(lag_lines(label, batch)))
    workflows = "n/a" if entered.workflows is None else str(entered.workflows)
    print(f"[{label}] matched events -> journeys entered: {entered.enrolled} / {entered.matched}   "
          f"(Journey workflows started {workflows}; welcome emails received {entered.emails})")  # fmt: skip
    print("\n".join(report(f"[{label}] batch", batch.cpu, batch.events, "event")))
    if track.cpu is not None:
        print("\n".join(report(f"[{label}] track", track.cpu, track.sent, "request")))


async def run_database(label: str, database_url: str, args: argparse.Namespace) -> None:
    run = uuid.uuid4().hex[:6]
    async with (
        counting_sink() as sink,
        embedded_stack(
            sink.port, database_url, keep=args.keep, label=f"ingest-{label}", profile=["api"] if args.profile else []
        ) as stack,
    ):
        await publish_journey(stack, "Bench welcome", JOURNEY)
        await asyncio.sleep(2.5)  # the API caches published journeys for 2 s
        print(f"[{label}] stack up: API {stack.api_url}; {args.events:,} events via /v1/batch ...")
        batch = await throughput(stack, args, run)
        batch_triggers = batch.triggers
        print(f"[{label}] dispatch lag drained; waiting for the journeys to settle ...")
        await journeys_entered(stack, sink, batch_triggers, batch.welcomes)
        print(f"[{label}] /v1/track at {args.rate:.0f}/s for {args.duration:.0f} s ...")
        track, track_triggers = await latency(stack, args, run)
        entered = await journeys_entered(stack, sink, batch_triggers + track_triggers, batch.welcomes)
    print_database(label, batch, track, entered)


def databases(choice: str | None) -> list[str]:
    if choice == "both":
        return ["sqlite", "postgresql"]
    if choice is not None:
        return [choice]
    if postgres.reachable():
        return ["sqlite", "postgresql"]
    print("PostgreSQL does not answer at 127.0.0.1:5432: SQLite only")
    return ["sqlite"]


async def main_async(args: argparse.Namespace) -> int:
    for label in databases(args.database):
        if label == "sqlite":
            await run_database(label, "", args)
            continue
        if not postgres.reachable():
            raise StackError(f"PostgreSQL does not answer at {postgres.SERVER} (user postgres, trust auth)")
        with postgres.throwaway_database() as url:
            await run_database(label, url, args)
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000, help="events sent through /v1/batch (50,000)")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default=None,
                        help="default: both when PostgreSQL answers at 127.0.0.1:5432, else sqlite")  # fmt: skip
    parser.add_argument("--batch", type=int, default=100, help="events per /v1/batch request (100)")
    parser.add_argument("--triggers", type=int, default=1, metavar="PCT",
                        help="percent of batch events that trigger the journey (1; 100: burst run)")  # fmt: skip
    parser.add_argument("--drain-timeout", type=float, default=600.0,
                        help="bound on the dispatch lag's drain after the batches, seconds (600)")  # fmt: skip
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent /v1/batch connections (8)")
    parser.add_argument("--rate", type=float, default=200.0, help="/v1/track requests per second (200)")
    parser.add_argument("--connections", type=int, default=64, help="max /v1/track connections (64)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of /v1/track traffic (15)")
    parser.add_argument("--timeout", type=float, default=600.0, help="bound on each measured phase, seconds (600)")
    parser.add_argument("--profile", action="store_true", help="profile the API's CPU (slower)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dirs (logs, SQLite files)")
    return parser.parse_args(argv)


def main() -> None:
    run_main(main_async(parse_args()), (StackError, segment.IngestError, TimeoutError))


if __name__ == "__main__":
    main()
