"""Drill: the worker is SIGKILLed during a send burst; no email may be lost or sent twice.

`python -m drills.worker_kill [--contacts N] [--kills K] [--database-url URL | --postgres SERVER]` starts the real
stack (Temporal dev server, `mauntic api`, `mauntic worker`: bench.stack), a slow SMTP sink (bench.smtp_sink, 50 ms
per DATA, so kills land on both sides of the provider call), publishes a single-send journey, identifies N
contacts and triggers them all, SIGKILLs the worker K times while the emails go out (starting a new one each
time), waits until every message-log row has a verdict, and compares what the sink received with the log:

- duplicated: an address that received the email more than once (must be 0);
- lost: an address that received nothing although its row is not `uncertain` (must be 0);
- uncertain: a row whose provider call was cut off by a kill: nobody can know whether it went out, so it is never
  sent again on its own. Only a provider call genuinely in flight may leave one: the uncertain rows that never
  reached the sink must not outnumber the SMTP sessions the kills cut off (sessions opened minus emails accepted;
  each send opens one). An attempt killed before its provider call must be retried and delivered instead.

It runs on SQLite by default; on PostgreSQL with `--database-url` (or MAUNTIC_DATABASE_URL) naming an empty
database, or `--postgres postgresql://postgres@127.0.0.1:5432` for a throwaway database dropped at the end.
Exit status 1 on a violation. A killed attempt is retried after the send activity's 60 s start-to-close timeout,
so a run takes about as long as the burst plus a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections import Counter
from contextlib import ExitStack

from sqlalchemy import text

from bench import postgres, segment
from bench.smtp_sink import CountingSink, counting_sink
from bench.stack import Stack, StackError, embedded_stack, publish_journey, run_main
from store.db import create_async_db_engine

TRIGGER = "Drill Started"
JOURNEY: dict[str, object] = {
    "trigger": {"event": TRIGGER},
    "start": "hello",
    "steps": [{"id": "hello", "type": "send_email", "subject": "Drill {{ contact.first_name }}", "text": "Hi."}],
}
READY = "worker polling task queue"
VERDICTS = ("sent", "uncertain", "skipped", "failed")


def address(index: int) -> str:
    return f"drill{index}@drill.example.test"


async def ingest(stack: Stack, n: int) -> None:
    stats = segment.IngestStats()
    async with segment.ingestion_client(stack.api_url, stack.write_key, 4) as http:
        for kind in ("identify", "track"):
            for start in range(0, n, 100):
                batch = [
                    segment.identify(f"d{i}", {"email": address(i), "firstName": f"D{i}"})
                    if kind == "identify"
                    else segment.track(f"d{i}", TRIGGER)
                    for i in range(start, min(n, start + 100))
                ]
                await segment.send_batch(http, batch, stats)


async def restart_worker(stack: Stack) -> None:
    """SIGKILL the worker by its pid, start a new one, wait until it polls."""
    worker = stack.processes["worker"]
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    ready_before = stack.logs["worker"].read_text(errors="replace").count(READY)
    stack.spawn("worker", [sys.executable, "-m", "mauntic", "worker"])
    deadline = time.monotonic() + 60
    while stack.logs["worker"].read_text(errors="replace").count(READY) <= ready_before:
        stack.check_alive()
        if time.monotonic() > deadline:
            raise StackError("the restarted worker did not start polling within 60 s")
        await asyncio.sleep(0.2)


async def kill_during_burst(stack: Stack, sink: CountingSink, n: int, kills: int) -> None:
    """Kill when the sink has received 1/(K+1), 2/(K+1) ... of the emails: always mid-burst."""
    loop = asyncio.get_running_loop()
    for k in range(1, kills + 1):
        target = n * k // (kills + 1)
        if not await sink.wait_total(target, loop.time() + 120):
            raise StackError(f"the sink never reached {target} emails (has {sink.total})")
        await restart_worker(stack)
        print(f"  kill {k}/{kills} at {sink.total} emails received; worker restarted", flush=True)


async def message_log(database_url: str) -> dict[str, str]:
    engine = create_async_db_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT to_address, status FROM message_log"))
            return {str(to): str(status) for to, status in rows.all()}
    finally:
        await engine.dispose()


async def wait_for_verdicts(database_url: str, n: int, timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        rows = await message_log(database_url)
        done = sum(1 for status in rows.values() if status in VERDICTS)
        if done >= n or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(1.0)


def report(n: int, received: Counter[str], rows: dict[str, str], cut_off: int) -> int:
    addresses = [address(i) for i in range(n)]
    duplicated = [a for a in addresses if received[a] > 1]
    uncertain = [a for a in addresses if rows.get(a) == "uncertain"]
    lost = [a for a in addresses if received[a] == 0 and rows.get(a) != "uncertain"]
    sent = sum(1 for a in addresses if rows.get(a) == "sent")
    undelivered_uncertain = sum(1 for a in uncertain if not received[a])
    statuses = Counter(rows.get(a, "no row") for a in addresses)
    print(f"message log: {dict(sorted(statuses.items()))}")
    print(
        f"sent {sent} / lost {len(lost)} / duplicated {len(duplicated)} / uncertain {len(uncertain)} "
        f"({len(uncertain) - undelivered_uncertain} of them delivered); {cut_off} provider calls were cut off"
    )
    failures = []
    if duplicated:
        failures.append(f"{len(duplicated)} duplicated, e.g. {duplicated[:3]}")
    if lost:
        failures.append(f"{len(lost)} lost, e.g. {[(a, rows.get(a, 'no row')) for a in lost[:3]]}")
    if undelivered_uncertain > cut_off:
        failures.append(
            f"{undelivered_uncertain} uncertain rows never reached the provider, but only {cut_off} provider calls "
            "were in flight at the kills: the others were killed before their provider call and never retried"
        )
    for failure in failures:
        print(f"VIOLATION: {failure}")
    if not failures:
        print("ok: no email lost or duplicated by the kills")
    return 1 if failures else 0


async def drill(args: argparse.Namespace, database_url: str) -> int:
    received: Counter[str] = Counter()
    async with counting_sink(delay=args.smtp_delay) as sink:
        sink.subscribe(lambda recipient, _raw: received.update([recipient]))
        async with embedded_stack(sink.port, database_url, label="drill") as stack:
            print(f"stack up on {'PostgreSQL' if database_url else 'SQLite'}; {args.contacts} contacts", flush=True)
            await publish_journey(stack, "Worker kill drill", JOURNEY)
            began = time.monotonic()
            ingesting = asyncio.create_task(ingest(stack, args.contacts))
            await kill_during_burst(stack, sink, args.contacts, args.kills)
            await ingesting
            rows = await wait_for_verdicts(stack.database_url, args.contacts, args.timeout)
            await asyncio.sleep(args.smtp_delay * 4)  # a DATA still being accepted
            print(f"done in {time.monotonic() - began:.0f} s; the sink received {sink.total} emails")
            return report(args.contacts, received, rows, max(0, sink.connections - sink.total))


async def main_async(args: argparse.Namespace) -> int:
    with ExitStack() as resources:
        database_url = args.database_url
        if args.postgres:
            database_url = resources.enter_context(postgres.throwaway_database(args.postgres))
        return await drill(args, database_url)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m drills.worker_kill", description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=300, help="single-send journeys (default 300)")
    parser.add_argument("--kills", type=int, default=3, help="worker SIGKILLs during the burst (default 3)")
    parser.add_argument("--smtp-delay", type=float, default=0.05, help="seconds per DATA at the sink (0.05)")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for every verdict (240)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--database-url",
        default=os.environ.get("MAUNTIC_DATABASE_URL", ""),
        help="an empty database to run on (default: MAUNTIC_DATABASE_URL, else SQLite in a temporary dir)",
    )
    where.add_argument("--postgres", metavar="SERVER", help="a PostgreSQL server to create a throwaway database on")
    args = parser.parse_args(argv)
    if args.contacts < 1 or args.kills < 0:
        parser.error("--contacts must be positive and --kills not negative")
    return args


def main() -> None:
    run_main(main_async(parse_args()), (StackError, segment.IngestError))


if __name__ == "__main__":
    main()
