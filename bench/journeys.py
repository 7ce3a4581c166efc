"""Journey throughput: the engine against the same journey shape written as bare Temporal code.

`python -m bench.journeys [--contacts N]` starts the embedded stack (Temporal dev server, `mauntic worker`,
`mauntic api`, each its own process) with a counting SMTP sink, then on the same server:

1. engine: N contacts created through /v1/batch (identify, not measured); then, measured from the first trigger
   to the last email, each contact is triggered into a published journey (send -> wait_for_event -> send)
   through /v1/batch, and its follow-up event is ingested as soon as its first email reached the sink;
2. bare: the same shape as a minimal workflow (bench/bare.py) with its worker in its own process, started with
   start_workflow and resumed with a signal as soon as its first email reached the sink.

Prints contacts/s of both, their ratio (target >= 0.8), CPU per contact of every process and the bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import text
from temporalio.client import Client
from temporalio.common import TypedSearchAttributes

from bench import segment
from bench.bare import ACTIVATED_SIGNAL, BareInput, BareJourney
from bench.phase import JourneyPhase, PhaseResult, PhaseTimeout
from bench.procstat import report
from bench.smtp_sink import CountingSink, counting_sink
from bench.stack import Stack, StackError, embedded_stack, publish_journey, run_main
from domain.journeys.runtime import JourneyInput
from mauntic.settings import Settings
from store.db import create_async_db_engine, session_factory
from workflows.search_attributes import initial_search_attributes

TARGET_RATIO = 0.8
TRIGGER = "Signed Up"
FOLLOW_UP = "Activated"
FOLLOW_UP_SUBJECT = "Thanks for activating"  # bench/bare.py sends the same subject
JOURNEY: dict[str, object] = {
    "trigger": {"event": TRIGGER, "where": [{"property": "plan", "op": "eq", "value": "pro"}]},
    "start": "welcome",
    "steps": [
        {
            "id": "welcome",
            "type": "send_email",
            "subject": "Welcome, {{ contact.first_name }}!",
            "text": "Hi {{ contact.first_name }}, your account is ready.",
            "html": "<p>Hi {{ contact.first_name }}, your account is ready.</p>",
            "next": "await_activation",
        },
        {
            "id": "await_activation",
            "type": "wait_for_event",
            "event": FOLLOW_UP,
            "timeout": "P3D",
            "on_event": "thanks",
            "on_timeout": "nudge",
        },
        {"id": "thanks", "type": "send_email", "subject": FOLLOW_UP_SUBJECT, "text": "Enjoy.", "next": "done"},
        {"id": "nudge", "type": "send_email", "subject": "Need a hand?", "text": "Reply to this email."},
        {"id": "done", "type": "end"},
    ],
}


def search_attributes(contact: BareInput) -> TypedSearchAttributes:
    """The engine's initial search attributes (workspace, journey, version, contact), for the diagnostic run."""
    journey = JourneyInput(
        workspace_id="bench", journey_id="bare", version=1, contact_id=contact.contact, trigger_event_id="-"
    )
    return initial_search_attributes(journey)


def user_id(index: int) -> str:
    return f"bench-user-{index}"


class EventBatcher:
    """Collects follow-up events and sends them as /v1/batch requests of up to `size` events, waiting at most
    `linger` seconds for a batch to fill (as Segment's libraries flush)."""

    def __init__(
        self, phase: JourneyPhase, send: Callable[[list[segment.Message]], Coroutine[Any, Any, None]], size: int
    ) -> None:
        self._phase = phase
        self._send = send
        self._size = size
        self._buffer: list[segment.Message] = []
        self._timer: asyncio.TimerHandle | None = None
        self.linger = 0.05

    def add(self, message: segment.Message) -> None:
        self._buffer.append(message)
        if len(self._buffer) >= self._size:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.linger, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._buffer:
            messages, self._buffer = self._buffer, []
            self._phase.spawn(self._send(messages))


class Window:
    """At most `size` contacts in their journey at once (0: no bound, every contact starts at once)."""

    def __init__(self, phase: JourneyPhase, size: int) -> None:
        self.bounded = size > 0
        self._slots = asyncio.Semaphore(max(size, 1))
        phase.on_finished = lambda _index: self._slots.release()

    async def enter(self) -> None:
        await self._slots.acquire()


async def engine_phase(stack: Stack, sink: CountingSink, args: argparse.Namespace) -> PhaseResult:
    n, size = args.contacts, args.batch
    phase = JourneyPhase("engine", sink, "u", "engine.example.com", n, FOLLOW_UP_SUBJECT)
    limit = asyncio.Semaphore(args.concurrency)
    stats = segment.IngestStats()
    async with segment.ingestion_client(stack.api_url, stack.write_key, args.concurrency) as http:

        async def send(messages: list[segment.Message]) -> None:
            async with limit:
                await segment.send_batch(http, messages, stats)

        async def send_all(messages: list[segment.Message]) -> None:
            chunks = [messages[i : i + size] for i in range(0, len(messages), size)]
            await asyncio.gather(*(send(chunk) for chunk in chunks))

        # Contacts first, not measured: the journey needs their email address and first name.
        loop = asyncio.get_running_loop()
        began = loop.time()
        traits = [{"email": phase.address(i), "firstName": f"Ada{i}", "plan": "pro"} for i in range(n)]
        await send_all([segment.identify(user_id(i), traits[i]) for i in range(n)])
        print(f"engine: {n} contacts identified in {loop.time() - began:.1f} s (not measured)")

        follow_ups = EventBatcher(phase, send, size)
        phase.on_first = lambda index: follow_ups.add(segment.track(user_id(index), FOLLOW_UP))
        window = Window(phase, args.window)

        async def trigger_all() -> None:
            if not window.bounded:
                await send_all([segment.track(user_id(i), TRIGGER, {"plan": "pro"}) for i in range(n)])
                return
            triggers = EventBatcher(phase, send, size)
            for i in range(n):
                await window.enter()
                triggers.add(segment.track(user_id(i), TRIGGER, {"plan": "pro"}))
            triggers.flush()

        pids = stack.pids()
        result = await phase.run(pids | {"bench (driver)": os.getpid()}, trigger_all(), args.timeout)
    print(f"engine: ingestion {stats.summary()}")
    return result


async def bare_phase(stack: Stack, sink: CountingSink, args: argparse.Namespace) -> PhaseResult:
    n = args.contacts
    task_queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
    options = ["--target", stack.temporal_target, "--task-queue", task_queue, "--smtp-port", str(sink.port)]
    options += ["--max-cached-workflows", str(args.bare_max_cached)]
    options += ["--workflow-tasks", str(args.workflow_tasks), "--activities", str(args.activities)]
    runner = ["-m", "bench.profiled", str(stack.data_dir / "bare-worker.prof")] if args.profile else ["-m"]
    stack.spawn("bare-worker", [sys.executable, *runner, "bench.bare", *options])
    await stack.wait_for_log("bare-worker", "bare worker polling")
    client = await Client.connect(stack.temporal_target)
    phase = JourneyPhase("bare", sink, "b", "bare.example.com", n, FOLLOW_UP_SUBJECT)
    limit = asyncio.Semaphore(args.inflight)
    run_id = uuid.uuid4().hex[:6]

    def workflow_id(index: int) -> str:
        return f"bare-{run_id}-{index}"

    async def start(index: int) -> None:
        async with limit:
            contact = BareInput(str(index), phase.address(index), upsert_steps=args.bare_search_attributes)
            await client.start_workflow(
                BareJourney.run,
                contact,
                id=workflow_id(index),
                task_queue=task_queue,
                search_attributes=search_attributes(contact) if args.bare_search_attributes else None,
            )

    async def signal(index: int) -> None:
        async with limit:
            await client.get_workflow_handle(workflow_id(index)).signal(ACTIVATED_SIGNAL)

    window = Window(phase, args.window)

    async def start_all() -> None:
        if not window.bounded:
            await asyncio.gather(*(start(i) for i in range(n)))
            return
        for i in range(n):
            await window.enter()
            phase.spawn(start(i))

    phase.on_first = lambda index: phase.spawn(signal(index))
    pids = stack.pids()  # the engine's worker and API too: idle now, which the report shows
    return await phase.run(pids | {"bench (driver)": os.getpid()}, start_all(), args.timeout)


async def database_counts(stack: Stack) -> str:
    engine = create_async_db_engine(stack.database_url)
    try:
        async with session_factory(engine)() as session:
            enrolled = (await session.execute(text("SELECT count(*) FROM journey_enrollment"))).scalar_one()
            rows = await session.execute(text("SELECT status, count(*) FROM message_log GROUP BY status"))
            statuses = ", ".join(f"{status} {count}" for status, count in rows.all())
    finally:
        await engine.dispose()
    return f"journey_enrollment rows {enrolled}; message_log: {statuses or 'none'}"


def worker_limits(args: argparse.Namespace) -> dict[str, str]:
    """The engine worker's slot limits, as settings (the bare worker gets the same numbers)."""
    return {
        "MAUNTIC_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS": str(args.workflow_tasks),
        "MAUNTIC_WORKER_MAX_CONCURRENT_ACTIVITIES": str(args.activities),
    }


def print_results(engine: PhaseResult | None, bare: PhaseResult | None, counts: str) -> None:
    print()
    for result in (engine, bare):
        if result is not None:
            print(
                f"{result.name:<7} {result.rate:7.1f} contacts/s  ({result.contacts} contacts in {result.wall:.1f} s; "
                f"all first emails after {result.first_emails_at:.1f} s; {result.duplicates} duplicate emails)"
            )
    if engine is not None and bare is not None:
        ratio = engine.rate / bare.rate if bare.rate else 0.0
        verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
        print(f"ratio   {ratio:7.2f}   (target >= {TARGET_RATIO}: {verdict}; DESIGN reference for bare: 42-62/s)")
    if engine is not None:
        print(f"engine database: {counts}")
    for result in (engine, bare):
        if result is not None:
            print()
            print("\n".join(report(result.name, result.cpu, result.contacts, "contact")))


async def main_async(args: argparse.Namespace) -> int:
    engine = bare = None
    counts = ""
    async with (
        counting_sink() as sink,
        embedded_stack(
            sink.port,
            keep=args.keep,
            label="journeys",
            profile=["worker"] if args.profile else [],
            settings_env=worker_limits(args),
        ) as stack,
    ):
        await publish_journey(stack, "Bench onboarding", JOURNEY)
        print(f"stack up: API {stack.api_url}, Temporal {stack.temporal_target}, SMTP sink :{sink.port}")
        if args.phases in ("both", "engine"):
            engine = await engine_phase(stack, sink, args)
            print(f"engine: {engine.rate:.1f} contacts/s")
            await asyncio.sleep(2)  # the last activities record "sent" just after their email reached the sink
            counts = await database_counts(stack)
        if args.phases in ("both", "bare"):
            bare = await bare_phase(stack, sink, args)
            print(f"bare: {bare.rate:.1f} contacts/s")
    print_results(engine, bare, counts)
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.journeys", description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=2000, help="contacts per phase (default 2000)")
    parser.add_argument("--batch", type=int, default=100, help="events per /v1/batch request (default 100)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent ingestion requests (default 8)")
    parser.add_argument("--inflight", type=int, default=64, help="concurrent Temporal client calls, bare (64)")
    parser.add_argument("--timeout", type=float, default=0.0, help="seconds per phase (default 120 + 0.15 s/contact)")
    parser.add_argument(
        "--bare-max-cached", type=int, default=1000, help="the bare worker's max_cached_workflows (SDK default 1000)"
    )
    parser.add_argument(
        "--window", type=int, default=0, help="max contacts in a journey at once (default 0: all start at once)"
    )
    parser.add_argument(
        "--bare-search-attributes",
        action="store_true",
        help="diagnostic: give the bare workflow the engine's search attributes and per-step upserts",
    )
    default = Settings.model_fields
    parser.add_argument(
        "--workflow-tasks",
        type=int,
        default=default["worker_max_concurrent_workflow_tasks"].default,
        help="workflow task slots of both workers (default: the engine's setting)",
    )
    parser.add_argument(
        "--activities",
        type=int,
        default=default["worker_max_concurrent_activities"].default,
        help="activity slots of both workers (default: the engine's setting)",
    )
    parser.add_argument("--phases", choices=("both", "engine", "bare"), default="both", help="what to run (both)")
    parser.add_argument("--profile", action="store_true", help="profile the workers' CPU (slower)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir (logs, databases)")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        args.timeout = 120 + 0.15 * args.contacts
    return args


def main() -> None:
    run_main(main_async(parse_args()), (StackError, PhaseTimeout, segment.IngestError))


if __name__ == "__main__":
    main()
