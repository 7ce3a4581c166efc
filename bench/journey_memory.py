"""Worker memory per 1,000 cached workflows, and history events per contact, for a journey definition.

`python -m bench.journey_memory [--definition FILE] [--contacts N] [--max-cached C] [--sample S]` starts the
embedded stack (bench.stack) with the worker's MAUNTIC_WORKER_MAX_CACHED_WORKFLOWS at C (default: N, so every
waiting journey stays cached), publishes the definition (default bench/definitions/abandoned_cart.json), then:

1. samples the worker's resident memory (VmRSS) once the journey is published (the baseline: imports, sandbox,
   connections), triggers N contacts (default 2,000) through /v1/batch, waits until every one stands in the
   definition's first wait_for_event step (the API's state endpoint), settles, and samples it again: the growth
   per 1,000 cached workflows is (after - before) / min(N, C) x 1,000;
2. counts the history events of S sampled contacts (default 50) in the wait, then sends each of them the awaited
   event and counts again once their run has closed (with the default definition: the "on purchase" exit). A
   definition whose event path does not end within --finish-timeout is reported where it stands.

The integrator's other step types plug in by definition file only: each step a contact goes through adds its
events, and the figures show what a journey of that shape costs per contact in Temporal's history.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from temporalio.client import Client, WorkflowExecutionStatus

from bench import segment
from bench.procstat import rss_bytes
from bench.smtp_sink import counting_sink
from bench.stack import Stack, StackError, embedded_stack, publish_journey, run_main
from bench.waiting import DEFAULT_DEFINITION, WaitingJourney, enter_and_wait, user_id
from domain.journeys.runtime import journey_workflow_id

MB = 1024 * 1024


async def history_lengths(client: Client, workflow_ids: list[str]) -> list[int]:
    lengths = []
    for workflow_id in workflow_ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        lengths.append(len(history.events))
    return lengths


async def until_closed(client: Client, workflow_ids: list[str], timeout: float) -> int:
    """Wait until every workflow closed, or the timeout; how many did."""
    deadline = time.monotonic() + timeout
    while True:
        closed = 0
        for workflow_id in workflow_ids:
            described = await client.get_workflow_handle(workflow_id).describe()
            closed += described.status != WorkflowExecutionStatus.RUNNING
        if closed == len(workflow_ids) or time.monotonic() > deadline:
            return closed
        await asyncio.sleep(0.5)


def spread(values: list[int]) -> str:
    return f"mean {statistics.fmean(values):.1f}, min {min(values)}, max {max(values)} (of {len(values)} contacts)"


async def send_awaited(stack: Stack, journey: WaitingJourney, indexes: range) -> None:
    async with segment.ingestion_client(stack.api_url, stack.write_key, 2) as http:
        stats = segment.IngestStats()
        await segment.send_batch(http, [segment.track(user_id(i), journey.awaited) for i in indexes], stats)


async def main_async(args: argparse.Namespace) -> int:
    journey = WaitingJourney.load(args.definition)
    cached = args.max_cached or args.contacts
    settings_env = {"MAUNTIC_WORKER_MAX_CACHED_WORKFLOWS": str(cached)}
    async with (
        counting_sink() as sink,
        embedded_stack(sink.port, label="journey-memory", settings_env=settings_env) as stack,
    ):
        journey_id = await publish_journey(stack, "Bench journey memory", journey.definition)
        await asyncio.sleep(args.settle)
        worker = stack.processes["worker"].pid
        before = rss_bytes(worker)
        began = time.monotonic()
        contacts = await enter_and_wait(stack, journey, journey_id, args.contacts, args.timeout)
        await asyncio.sleep(args.settle)
        after = rss_bytes(worker)
        print(f"{len(contacts)} journeys in {journey.step!r} after {time.monotonic() - began:.1f} s")
        held = min(len(contacts), cached)
        per_thousand = (after - before) / held * 1000 / MB if held else 0.0
        print(
            f"worker RSS {before / MB:.1f} MB -> {after / MB:.1f} MB with {held} cached workflows "
            f"(max_cached_workflows {cached}): {per_thousand:.1f} MB per 1,000 cached workflows"
        )

        client = await Client.connect(stack.temporal_target, namespace="default")
        sample = range(min(args.sample, len(contacts)))
        ids = [journey_workflow_id(stack.workspace_id, journey_id, contacts[i]) for i in sample]
        print(f"history events per contact in the wait: {spread(await history_lengths(client, ids))}")
        await send_awaited(stack, journey, sample)
        closed = await until_closed(client, ids, args.finish_timeout)
        where = "closed" if closed == len(ids) else f"{closed} of {len(ids)} closed"
        lengths = await history_lengths(client, ids)
        print(f"history events per contact after {journey.awaited!r} ({where}): {spread(lengths)}")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.journey_memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--definition", type=Path, default=DEFAULT_DEFINITION, help="a journey definition (JSON)")
    parser.add_argument("--contacts", type=int, default=2000, help="journeys waiting (2,000)")
    parser.add_argument("--max-cached", type=int, default=0, help="the worker's max_cached_workflows (default N)")
    parser.add_argument("--sample", type=int, default=50, help="contacts whose history is counted (50)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before each memory sample (3)")
    parser.add_argument("--finish-timeout", type=float, default=60.0, help="bound on the sampled runs' end (60 s)")
    parser.add_argument("--timeout", type=float, default=0.0, help="bound on the setup (default 120 + 0.3 s/contact)")
    args = parser.parse_args(argv)
    if args.contacts < 1:
        parser.error("--contacts must be positive")
    if args.timeout <= 0:
        args.timeout = 120 + 0.3 * args.contacts
    return args


def main() -> None:
    run_main(main_async(parse_args()), (StackError, segment.IngestError))


if __name__ == "__main__":
    main()
