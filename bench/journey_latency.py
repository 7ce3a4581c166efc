"""Event -> journey handler latency through a waiting journey's wait_for_event — target p99 < 250 ms at 50/s.

`python -m bench.journey_latency [--definition FILE] [--contacts N] [--rate R]` starts the embedded stack
(bench.stack), publishes the definition (default bench/definitions/abandoned_cart.json: "Cart Abandoned" ->
wait_for_event "Order Completed", P1D -> end), then:

1. setup (not measured): N contacts (default 1,000) identified and triggered through /v1/batch, until every one
   stands in the definition's first wait_for_event step (the API's state endpoint says so);
2. events: the awaited event for each contact through single /v1/track calls at a steady R per second (default
   50), open loop (each request sent at its fixed instant whatever the earlier ones did);
3. for each contact, the wait step's record in the journey's state (`history[].finished_at` of the record whose
   outcome is "event": the workflow time of the task that consumed the event).

Latency = that finished_at minus the wall-clock instant /v1/track accepted the event (its 200 answer); the server
and the bench share the machine's clock. Printed: p50 / p99 / max beside the target p99 < 250 ms, the same from
the POST's sending, /v1/track acknowledgement latency, errors, and the worker's max_cached_workflows beside N
(more journeys than the cache holds: some signals replay an evicted workflow first). bench.latency measures the
same path on a send -> wait -> send journey from the workflow histories.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from bench import segment
from bench.journey_phases import max_cached_setting
from bench.rawhttp import HttpError, RawHttpClient
from bench.smtp_sink import counting_sink
from bench.stack import Stack, StackError, embedded_stack, publish_journey, run_main
from bench.waiting import DEFAULT_DEFINITION, WaitingJourney, enter_and_wait, percentile, until_every, user_id

TARGET_P99_MS = 250.0


def line(label: str, values_ms: list[float], target: str = "") -> str:
    if not values_ms:
        return f"{label}: n/a"
    p50, p99 = percentile(values_ms, 0.5), percentile(values_ms, 0.99)
    return f"{label}: p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  max {max(values_ms):7.1f} ms{target}"


async def send_events(stack: Stack, journey: WaitingJourney, n: int, rate: float) -> list[tuple[float, float, str]]:
    """(sent, accepted, status) of contact i's event, sent at start + i / rate."""
    loop = asyncio.get_running_loop()
    http = RawHttpClient("127.0.0.1", stack.api_port, segment.basic_auth(stack.write_key), 16)
    results: list[tuple[float, float, str]] = [(0.0, 0.0, "")] * n

    async def send(i: int) -> None:
        path, body = segment.single_path_and_body(segment.track(user_id(i), journey.awaited))
        sent = time.time()
        try:
            async with asyncio.timeout(30):
                status = str(await http.post(path, orjson.dumps(body)))
        except (OSError, TimeoutError, asyncio.IncompleteReadError, HttpError) as exc:
            status = type(exc).__name__
        results[i] = (sent, time.time(), status)

    try:
        tasks = []
        start = loop.time() + 0.05
        for i in range(n):
            await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
            tasks.append(asyncio.create_task(send(i)))
        await asyncio.gather(*tasks)
    finally:
        await http.aclose()
    return results


def handled_at(found: dict[str, Any], step: str) -> float | None:
    for record in found.get("history", []):
        if record["step_id"] == step and record.get("outcome") == "event" and record.get("finished_at"):
            return datetime.fromisoformat(record["finished_at"]).timestamp()
    return None


async def main_async(args: argparse.Namespace) -> int:
    journey = WaitingJourney.load(args.definition)
    cached, source = max_cached_setting()
    async with counting_sink() as sink, embedded_stack(sink.port, label="journey-latency") as stack:
        journey_id = await publish_journey(stack, "Bench journey latency", journey.definition)
        began = time.monotonic()
        contacts = await enter_and_wait(stack, journey, journey_id, args.contacts, args.timeout)
        print(f"setup: {len(contacts)} journeys in {journey.step!r} after {time.monotonic() - began:.1f} s")
        await asyncio.sleep(args.settle)
        print(f"events: {len(contacts)} x {journey.awaited!r} via /v1/track at {args.rate:.0f}/s ...", flush=True)
        sent = await send_events(stack, journey, len(contacts), args.rate)
        states = await until_every(
            stack, journey_id, contacts, lambda s: handled_at(s, journey.step) is not None, 120, "the event"
        )
    handled = [handled_at(s, journey.step) for s in states]
    ok = [(h, s, a) for h, (s, a, status) in zip(handled, sent, strict=True) if h is not None and status == "200"]
    errors = sum(1 for _s, _a, status in sent if status != "200")
    print(f"contacts {len(contacts)}; worker max_cached_workflows {cached} ({source})")
    from_accept = [1000 * (h - a) for h, _s, a in ok]
    met = bool(from_accept) and percentile(from_accept, 0.99) < TARGET_P99_MS
    target = f"   target p99 < {TARGET_P99_MS:.0f} ms: {'met' if met else 'NOT met'}"
    print(line("event accepted -> journey handler", from_accept, target))
    print(line("event sent     -> journey handler", [1000 * (h - s) for h, s, _a in ok]))
    print(line("/v1/track acknowledgement      ", [1000 * (a - s) for _h, s, a in ok]))
    print(f"/v1/track errors: {errors}")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.journey_latency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--definition", type=Path, default=DEFAULT_DEFINITION, help="a journey definition (JSON)")
    parser.add_argument("--contacts", type=int, default=1000, help="journeys waiting, one event each (1,000)")
    parser.add_argument("--rate", type=float, default=50.0, help="events per second (50)")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds after the setup before the events (2)")
    parser.add_argument("--timeout", type=float, default=0.0, help="bound on the setup (default 120 + 0.3 s/contact)")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        args.timeout = 120 + 0.3 * args.contacts
    return args


def main() -> None:
    run_main(main_async(parse_args()), (StackError, segment.IngestError))


if __name__ == "__main__":
    main()
