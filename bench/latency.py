"""Event -> journey handler latency: an ingested "Activated" reaching a journey that waits for it.

`python -m bench.latency [--contacts N] [--rate R]` starts the embedded stack (Temporal dev server, `mauntic
worker`, `mauntic api`) with a counting SMTP sink and the journey *send -> wait_for_event "Activated" -> send*,
then:

1. setup (not measured): N contacts (default 1,500) identified and triggered through /v1/batch; it waits until
   every first email reached the sink and the message log has them all `sent`, then a few seconds more, so that
   every journey is in its wait;
2. events: one "Activated" per contact through single /v1/track calls at a steady R per second (default 50), open
   loop (each request is sent at its fixed instant whatever the earlier ones did);
3. afterwards, each journey's history: the handler latency of a contact is the time of the WorkflowTaskCompleted
   of the first workflow task started after the WorkflowExecutionSignaled carrying its "Activated", minus the
   wall-clock instant the bench sent its POST (the server and the bench share the machine's clock).

Prints p50 / p99 / max of that latency beside the target p99 < 250 ms, its split (POST -> signal recorded ->
handled), the follow-up email's arrival at the sink (secondary), the API's acknowledgement latency, and CPU per
event of every process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
from sqlalchemy import text
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory

from bench import segment
from bench.journey_phases import FOLLOW_UP, FOLLOW_UP_SUBJECT, JOURNEY, TRIGGER, max_cached_setting
from bench.procstat import CpuUsage, report, sample, usage
from bench.rawhttp import HttpError, RawHttpClient
from bench.smtp_sink import counting_sink
from bench.stack import Stack, StackError, embedded_stack, publish_journey, run_main
from domain.journeys.runtime import journey_workflow_id
from mauntic.settings import Settings
from store.db import create_async_db_engine, session_factory

TARGET_P99_MS = 250.0
DOMAIN = "latency.example.com"
SIGNALED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
TASK_STARTED = EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
TASK_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED


class LatencyError(RuntimeError):
    pass


def user_id(index: int) -> str:
    return f"latency-user-{index}"


def address(index: int) -> str:
    return f"l{index}@{DOMAIN}"


@dataclass
class Contact:
    index: int
    contact_id: str = ""
    sent: float = 0.0  # wall clock (time.time()) when its POST was sent
    acked: float = 0.0
    status: str = ""
    follow_up: float = 0.0  # wall clock when its follow-up email reached the sink
    signaled: float = 0.0  # server time of the WorkflowExecutionSignaled carrying its "Activated"
    task_started: float = 0.0
    handled: float = 0.0  # server time of the WorkflowTaskCompleted of the task that ran the handler


@dataclass
class Run:
    contacts: list[Contact]
    setup_wall: float = 0.0
    wall: float = 0.0
    max_send_lag_ms: float = 0.0
    cpu: CpuUsage | None = None
    missing: list[str] = field(default_factory=list)


def percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return f"p50 {at(0.5):7.1f} ms  p99 {at(0.99):7.1f} ms  max {ordered[-1]:7.1f} ms"


class Watcher:
    """Follows the sink: the first email of each contact (the setup) and the arrival time of its follow-up."""

    def __init__(self, contacts: list[Contact]) -> None:
        self.contacts = contacts
        self.firsts = 0
        self.follow_ups = 0
        self.duplicates = 0
        self._first_seen: set[int] = set()
        self._subject = b"Subject: " + FOLLOW_UP_SUBJECT.encode()

    def __call__(self, recipient: str, content: bytes) -> None:
        local, _, domain = recipient.partition("@")
        if domain != DOMAIN:
            return
        index = int(local[1:])
        if self._subject in content:
            contact = self.contacts[index]
            if contact.follow_up:
                self.duplicates += 1
                return
            contact.follow_up = time.time()
            self.follow_ups += 1
        elif index in self._first_seen:
            self.duplicates += 1
        else:
            self._first_seen.add(index)
            self.firsts += 1


async def until(condition: Callable[[], bool], deadline: float, what: str) -> None:
    while not condition():
        if time.monotonic() > deadline:
            raise LatencyError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def count_sent(stack: Stack) -> int:
    engine = create_async_db_engine(stack.database_url)
    try:
        async with session_factory(engine)() as session:
            query = text("SELECT count(*) FROM message_log WHERE status = 'sent'")
            return int((await session.execute(query)).scalar_one())
    finally:
        await engine.dispose()


async def contact_ids(stack: Stack) -> dict[str, str]:
    engine = create_async_db_engine(stack.database_url)
    try:
        async with session_factory(engine)() as session:
            rows = await session.execute(
                text("SELECT external_id, id FROM contact WHERE workspace_id = :ws"), {"ws": stack.workspace_id}
            )
            return {str(external): str(contact) for external, contact in rows.all()}
    finally:
        await engine.dispose()


async def setup(stack: Stack, watcher: Watcher, args: argparse.Namespace) -> float:
    """Identify and trigger every contact, and wait until every journey is in its wait. Returns its wall time."""
    n = len(watcher.contacts)
    began = time.monotonic()
    stats = segment.IngestStats()
    limit = asyncio.Semaphore(8)
    async with segment.ingestion_client(stack.api_url, stack.write_key, 8) as http:

        async def send_all(messages: list[segment.Message]) -> None:
            async def one(chunk: list[segment.Message]) -> None:
                async with limit:
                    await segment.send_batch(http, chunk, stats)

            await asyncio.gather(*(one(messages[i : i + 100]) for i in range(0, len(messages), 100)))

        traits = [{"email": address(i), "firstName": f"Lat{i}", "plan": "pro"} for i in range(n)]
        await send_all([segment.identify(user_id(i), traits[i]) for i in range(n)])
        await send_all([segment.track(user_id(i), TRIGGER, {"plan": "pro"}) for i in range(n)])
    deadline = time.monotonic() + args.timeout
    await until(lambda: watcher.firsts >= n, deadline, f"{n} first emails ({watcher.firsts} arrived)")
    # The send activity records `sent` after the sink accepted the message; then the workflow enters its wait.
    sent, recorded_by = 0, min(deadline, time.monotonic() + 60)
    while (sent := await count_sent(stack)) < n and time.monotonic() < recorded_by:
        await asyncio.sleep(0.5)
    if sent < n:
        print(f"setup: only {sent} of {n} first sends recorded as sent; going on")
    await asyncio.sleep(args.settle)
    print(f"setup: {n} contacts in their wait after {time.monotonic() - began:.1f} s ({stats.summary()})")
    return time.monotonic() - began


async def ingest_events(stack: Stack, watcher: Watcher, run: Run, args: argparse.Namespace) -> None:
    """Open loop: contact i's "Activated" is sent at start + i / rate."""
    loop = asyncio.get_running_loop()
    http = RawHttpClient("127.0.0.1", stack.api_port, segment.basic_auth(stack.write_key), args.connections)
    pids = stack.pids() | {"bench (driver)": os.getpid()}

    async def send(contact: Contact, scheduled: float) -> None:
        run.max_send_lag_ms = max(run.max_send_lag_ms, 1000 * (loop.time() - scheduled))
        path, body = segment.single_path_and_body(segment.track(user_id(contact.index), FOLLOW_UP))
        payload = orjson.dumps(body)
        contact.sent = time.time()
        try:
            async with asyncio.timeout(30):
                contact.status = str(await http.post(path, payload))
        except (OSError, TimeoutError, asyncio.IncompleteReadError, HttpError) as exc:
            contact.status = type(exc).__name__
        contact.acked = time.time()

    try:
        tasks = []
        before = sample(pids)
        start = loop.time() + 0.05
        for i, contact in enumerate(run.contacts):
            scheduled = start + i / args.rate
            await asyncio.sleep(max(0.0, scheduled - loop.time()))
            tasks.append(asyncio.create_task(send(contact, scheduled)))
        n = len(run.contacts)
        deadline = time.monotonic() + 60 + n / args.rate
        await asyncio.gather(*tasks)
        await until(lambda: watcher.follow_ups >= n, deadline, f"{n} follow-up emails ({watcher.follow_ups})")
        run.wall = loop.time() - start
        run.cpu = usage(before, sample(pids), run.wall)
    finally:
        await http.aclose()


def _seconds(event: HistoryEvent) -> float:
    return event.event_time.ToNanoseconds() / 1e9


def read_history(contact: Contact, history: WorkflowHistory) -> bool:
    """Fill in the signal's and its handler task's server times; False if the history has no "Activated"."""
    signaled_id = 0
    started_id = 0
    for event in history.events:
        if not signaled_id:
            if event.event_type == SIGNALED and _is_follow_up(event):
                signaled_id = event.event_id
                contact.signaled = _seconds(event)
        elif event.event_type == TASK_STARTED and not started_id:
            started_id = event.event_id
            contact.task_started = _seconds(event)
        elif event.event_type == TASK_COMPLETED:
            # A task started before the signal cannot have seen it (the server buffers the signal behind it).
            if event.workflow_task_completed_event_attributes.started_event_id > signaled_id:
                contact.handled = _seconds(event)
                return True
    return False


def _is_follow_up(event: HistoryEvent) -> bool:
    for payload in event.workflow_execution_signaled_event_attributes.input.payloads:
        try:
            if orjson.loads(payload.data).get("name") == FOLLOW_UP:
                return True
        except (orjson.JSONDecodeError, AttributeError):
            continue
    return False


async def read_histories(stack: Stack, journey_id: str, run: Run) -> None:
    client = await Client.connect(stack.temporal_target, namespace=Settings.model_fields["temporal_namespace"].default)
    limit = asyncio.Semaphore(16)

    async def one(contact: Contact) -> None:
        workflow_id = journey_workflow_id(stack.workspace_id, journey_id, contact.contact_id)
        async with limit:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
        if not read_history(contact, history):
            run.missing.append(workflow_id)

    await asyncio.gather(*(one(contact) for contact in run.contacts))


def print_results(run: Run, watcher: Watcher, args: argparse.Namespace) -> None:
    done = [c for c in run.contacts if c.handled]
    handled = [1000 * (c.handled - c.sent) for c in done]
    ordered = sorted(handled)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else float("inf")
    verdict = "met" if p99 < TARGET_P99_MS and not run.missing else "NOT met"
    errors: dict[str, int] = {}
    for contact in run.contacts:
        if contact.status != "200":
            errors[contact.status] = errors.get(contact.status, 0) + 1
    value, source = max_cached_setting()
    n = len(run.contacts)
    print()
    print(f"event -> journey handler  {percentiles(handled)}   (target p99 < {TARGET_P99_MS:.0f} ms: {verdict})")
    print(f"  {len(done)} of {n} events handled, {args.rate:.0f} events/s open loop ({n / args.rate:.1f} s of "
          f"sending, {run.wall:.1f} s until the last follow-up email); "
          f"{len(run.missing)} histories without the event")  # fmt: skip
    print(f"  POST -> signal recorded {percentiles([1000 * (c.signaled - c.sent) for c in done])}")
    print(f"  signal -> task started  {percentiles([1000 * (c.task_started - c.signaled) for c in done])}")
    print(f"  task started -> handled {percentiles([1000 * (c.handled - c.task_started) for c in done])}")
    arrived = [1000 * (c.follow_up - c.sent) for c in run.contacts if c.follow_up]
    print(f"follow-up email at sink   {percentiles(arrived)}   (secondary)")
    acked = [1000 * (c.acked - c.sent) for c in run.contacts if c.status == "200"]
    print(f"/v1/track acknowledged    {percentiles(acked)}   errors: "
          f"{', '.join(f'{k} x{v}' for k, v in errors.items()) or 'none'}")  # fmt: skip
    print(f"  client send lag max {run.max_send_lag_ms:.1f} ms; duplicate emails {watcher.duplicates}; "
          f"worker max_cached_workflows {value} ({source}) for {n} waiting journeys")  # fmt: skip
    if run.cpu is not None:
        print("\n".join(report("events", run.cpu, n, "event")))


async def main_async(args: argparse.Namespace) -> int:
    contacts = [Contact(i) for i in range(args.contacts)]
    watcher = Watcher(contacts)
    run = Run(contacts)
    async with counting_sink() as sink, embedded_stack(sink.port, keep=args.keep, label="latency") as stack:
        sink.subscribe(watcher)
        journey_id = await publish_journey(stack, "Bench activation", JOURNEY)
        print(f"stack up: API {stack.api_url}, Temporal {stack.temporal_target}, SMTP sink :{sink.port}")
        run.setup_wall = await setup(stack, watcher, args)
        ids = await contact_ids(stack)
        for contact in contacts:
            contact.contact_id = ids[user_id(contact.index)]
        print(f"events: {args.contacts} x {FOLLOW_UP!r} via /v1/track at {args.rate:.0f}/s ...")
        await ingest_events(stack, watcher, run, args)
        await read_histories(stack, journey_id, run)
    print_results(run, watcher, args)
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1500, help="journeys waiting, one event each (1,500)")
    parser.add_argument("--rate", type=float, default=50.0, help="events per second (50)")
    parser.add_argument("--connections", type=int, default=16, help="max /v1/track connections (16)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after the setup before the events (3)")
    parser.add_argument("--timeout", type=float, default=0.0, help="bound on the setup (default 120 + 0.3 s/contact)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir (logs, databases)")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        args.timeout = 120 + 0.3 * args.contacts
    return args


def main() -> None:
    run_main(main_async(parse_args()), (StackError, LatencyError, segment.IngestError))


if __name__ == "__main__":
    main()
