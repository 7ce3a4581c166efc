"""The phases of bench.journeys: the engine's journey, and the same shape as bare Temporal code (regular or local
activities), each watched at the SMTP sink by a JourneyPhase."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import sys
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from temporalio.client import Client
from temporalio.common import TypedSearchAttributes
from temporalio.worker import Worker

from bench import segment
from bench.bare import ACTIVATED_SIGNAL, BareInput, BareJourney
from bench.phase import JourneyPhase, PhaseResult
from bench.smtp_sink import CountingSink
from bench.stack import Stack
from domain.journeys.runtime import JourneyInput
from mauntic.settings import Settings
from workflows.search_attributes import initial_search_attributes

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


def max_cached_setting() -> tuple[int, str]:
    """The engine worker's max_cached_workflows and where it comes from: a MAUNTIC_* setting when the engine has
    one, else the temporalio SDK's default (the engine's worker does not pass one)."""
    for name, field in Settings.model_fields.items():
        if "max_cached" in name and isinstance(field.default, int):
            return field.default, f"MAUNTIC_{name.upper()}"
    default = inspect.signature(Worker.__init__).parameters["max_cached_workflows"].default
    return int(default), "temporalio's default"


def max_cached_env(value: int) -> dict[str, str]:
    """The setting that gives the engine's worker `value` as max_cached_workflows; {} when the engine has none."""
    _, source = max_cached_setting()
    return {source: str(value)} if source.startswith("MAUNTIC_") else {}


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


def holds(args: argparse.Namespace) -> bool:
    """Follow-ups are held until every contact had its first email, unless --no-hold or a window is asked for
    (a window needs contacts to finish before others start)."""
    return not args.no_hold and args.window <= 0


async def engine_phase(stack: Stack, sink: CountingSink, args: argparse.Namespace) -> PhaseResult:
    n, size = args.contacts, args.batch
    worker_pid = stack.processes["worker"].pid
    phase = JourneyPhase(
        "engine", sink, "u", "engine.example.com", n, FOLLOW_UP_SUBJECT, hold=holds(args), memory_pid=worker_pid
    )
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

        def on_first(index: int) -> None:
            follow_ups.add(segment.track(user_id(index), FOLLOW_UP))

        phase.on_first = on_first
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


async def bare_phase(stack: Stack, sink: CountingSink, args: argparse.Namespace, *, local: bool) -> PhaseResult:
    """The bare shape, its worker in its own process started for this phase (and stopped after it, so the next
    phase starts from a fresh process and its memory figure is its own)."""
    name = "bare-local" if local else "bare"
    worker = f"{name}-worker"
    task_queue = f"bench-{name}-{uuid.uuid4().hex[:8]}"
    options = ["--target", stack.temporal_target, "--task-queue", task_queue, "--smtp-port", str(sink.port)]
    options += ["--max-cached-workflows", str(args.max_cached)]
    options += ["--workflow-tasks", str(args.workflow_tasks), "--activities", str(args.activities)]
    runner = ["-m", "bench.profiled", str(stack.data_dir / f"{worker}.prof")] if args.profile else ["-m"]
    process = stack.spawn(worker, [sys.executable, *runner, "bench.bare", *options])
    try:
        await stack.wait_for_log(worker, "bare worker polling")
        return await _run_bare(stack, sink, args, name, task_queue, process.pid, local)
    finally:
        stack.stop_child(worker)


async def _run_bare(
    stack: Stack,
    sink: CountingSink,
    args: argparse.Namespace,
    name: str,
    task_queue: str,
    worker_pid: int,
    local: bool,
) -> PhaseResult:
    n = args.contacts
    client = await Client.connect(stack.temporal_target)
    domain = f"{name}.example.com"
    phase = JourneyPhase(name, sink, "b", domain, n, FOLLOW_UP_SUBJECT, hold=holds(args), memory_pid=worker_pid)
    limit = asyncio.Semaphore(args.inflight)
    run_id = uuid.uuid4().hex[:6]

    def workflow_id(index: int) -> str:
        return f"{name}-{run_id}-{index}"

    async def start(index: int) -> None:
        async with limit:
            contact = BareInput(str(index), phase.address(index), upsert_steps=args.bare_search_attributes, local=local)
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
