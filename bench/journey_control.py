"""Pausing and resuming a journey for all its contacts at once, on the embedded stack.

`python -m bench.journey_control [--contacts N]` (default 100,000) starts the embedded stack (Temporal dev server,
`mauntic worker`, `mauntic api`, each its own process, on ports 7650-7652 by default), publishes a journey whose
contacts wait a day before their one email, triggers N contacts into it through /v1/batch and waits until all N
stand in the wait (counted by Temporal's visibility). Then, measured from the request to the operation's
completion as GET /v1/journeys/{id}/operations/{op} reports it:

1. pause: POST /v1/journeys/{id}/pause, one batch operation signalling every running contact;
2. resume: POST /v1/journeys/{id}/resume, the same back.

Each is printed with contacts/s next to its target. The batch signals at the dev server's worker.batcherRPS
(settings.temporal_batch_rps, raised from Temporal's default of 50/s by mauntic's embedded server); each signal
costs the contact one workflow task on the worker.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import httpx
from temporalio.client import Client

from bench import segment
from bench.smtp_sink import counting_sink
from bench.stack import Stack, StackError, embedded_stack, publish_journey, run_main

# For 100,000 contacts (scaled to --contacts): 167 contacts/s, over three times what Temporal's default batcher
# rate (50/s) allows; each signal costs the worker one workflow task.
TARGET_SECONDS = {"pause": 600.0, "resume": 600.0}
TARGET_CONTACTS = 100_000
JOURNEY: dict[str, Any] = {
    "trigger": {"event": "Control Bench"},
    "start": "hold",
    "steps": [
        {"id": "hold", "type": "wait", "duration": "P1D", "next": "followup"},
        {"id": "followup", "type": "send_email", "subject": "A day later", "text": "hi"},
    ],
}


async def enter(stack: Stack, n: int, batch: int, concurrency: int) -> None:
    stats = segment.IngestStats()
    limit = asyncio.Semaphore(concurrency)
    async with segment.ingestion_client(stack.api_url, stack.write_key, concurrency) as http:

        async def send(chunk: list[segment.Message]) -> None:
            async with limit:
                await segment.send_batch(http, chunk, stats)

        messages = [segment.track(f"ctl-{i}", "Control Bench") for i in range(n)]
        await asyncio.gather(*(send(messages[i : i + batch]) for i in range(0, n, batch)))
    print(f"entering: ingestion {stats.summary()}")


async def waiting(client: Client, journey_id: str, n: int, timeout: float) -> float:
    query = f"MaunticJourney = '{journey_id}' AND MaunticStep = 'hold' AND ExecutionStatus = 'Running'"
    began = time.monotonic()
    last = -1
    while True:
        count = (await client.count_workflows(query)).count
        if count >= n:
            return time.monotonic() - began
        if count != last:
            print(f"  {count}/{n} contacts waiting")
            last = count
        if time.monotonic() - began > timeout:
            raise StackError(f"only {count} of {n} contacts reached the wait within {timeout:.0f} s")
        await asyncio.sleep(2)


async def operate(
    http: httpx.AsyncClient, journey_id: str, action: str, timeout: float
) -> tuple[float, dict[str, Any]]:
    began = time.monotonic()
    started = await http.post(f"/v1/journeys/{journey_id}/{action}")
    if started.status_code != 202:
        raise StackError(f"{action} answered {started.status_code}: {started.text[:500]}")
    operation: dict[str, Any] = started.json()
    while operation["state"] == "running":
        if time.monotonic() - began > timeout:
            raise StackError(f"{action} did not finish within {timeout:.0f} s: {operation}")
        await asyncio.sleep(0.5)
        answer = await http.get(f"/v1/journeys/{journey_id}/operations/{operation['id']}")
        operation = answer.json()
    return time.monotonic() - began, operation


async def main_async(args: argparse.Namespace) -> int:
    n = args.contacts
    async with (
        counting_sink(args.smtp_port) as sink,
        embedded_stack(sink.port, label="control", ports=(args.port, args.port + 1, args.port + 2)) as stack,
    ):
        journey_id = await publish_journey(stack, "Control bench", JOURNEY)
        client = await Client.connect(stack.temporal_target)
        began = time.monotonic()
        await enter(stack, n, args.batch, args.concurrency)
        entered = await waiting(client, journey_id, n, args.timeout)
        print(
            f"entering: {n} contacts waiting after {time.monotonic() - began:.1f} s ({entered:.1f} s after ingestion)"
        )
        headers = {"Authorization": f"Bearer {stack.api_key}"}
        failed = False
        async with httpx.AsyncClient(base_url=stack.api_url, headers=headers, timeout=60) as http:
            for action in ("pause", "resume"):
                seconds, operation = await operate(http, journey_id, action, args.timeout)
                target = TARGET_SECONDS[action] * n / TARGET_CONTACTS
                progress = operation["progress"]
                ok = operation["state"] == "completed" and progress["done"] == n and seconds <= target
                failed |= not ok
                print(
                    f"{action}: {seconds:.1f} s for {progress['done']}/{progress['total']} contacts "
                    f"({progress['done'] / seconds:.0f}/s; {progress['failed']} failed) "
                    f"target <= {target:.1f} s {'OK' if ok else 'MISSED'}"
                )
        print(f"emails sent meanwhile: {sink.total} (expected 0: every contact waits a day)")
    return 1 if failed else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=TARGET_CONTACTS)
    parser.add_argument("--batch", type=int, default=500, help="events per /v1/batch request")
    parser.add_argument("--concurrency", type=int, default=8, help="ingestion requests in flight")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds each phase may take")
    parser.add_argument("--port", type=int, default=7650, help="Temporal's port; its UI and the API take the next two")
    parser.add_argument("--smtp-port", type=int, default=7653)
    return parser.parse_args(argv)


def main() -> None:
    run_main(main_async(parse_args()), (StackError, segment.IngestError))


if __name__ == "__main__":
    main()
