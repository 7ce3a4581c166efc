"""Drill: the worker is SIGKILLed during a send burst; no email may be lost or sent twice.

`python -m drills.worker_kill [--journey single-send|abandoned-cart] [--contacts N] [--kills K] [--wait PT20S]
[--database-url URL | --postgres SERVER]` starts the real stack (Temporal dev server, `mauntic api`, `mauntic
worker`: bench.stack), a slow SMTP sink (bench.smtp_sink, 50 ms per DATA, so kills land on both sides of the
provider call), publishes the journey (drills/journeys.py), identifies N contacts and triggers them all, SIGKILLs
the worker K times while the emails go out (starting a new one each time), waits until every message-log row has
a verdict, and compares what the sink received with the log.

`--journey single-send` (the default) sends every contact one email. `--journey abandoned-cart` is the
abandoned-cart journey with a short timeout (`--wait`, PT20S): the even contacts complete their order right after
abandoning their cart and leave the journey, the odd ones get one reminder when their timeout fires; the kills
land in that reminder burst (the dispatcher, which runs inside the worker, dies with it). The figures:

- duplicated: an address that received the email more than once (must be 0);
- lost: an address that received nothing although its row is not `uncertain` (must be 0);
- reminded purchasers (abandoned-cart): a contact whose order came before the timeout got a reminder (must be 0);
- uncertain: a row whose provider call was cut off by a kill: nobody can know whether it went out, so it is never
  sent again on its own. Only a provider call genuinely in flight may leave one: the uncertain rows that never
  reached the sink must not outnumber the SMTP sessions the kills cut off (sessions opened minus emails accepted;
  each send opens one). An attempt killed before its provider call must be retried and delivered instead.

It runs on SQLite by default; on PostgreSQL with `--database-url` (or MAUNTIC_DATABASE_URL) naming an empty
database, or `--postgres postgresql://postgres@127.0.0.1:5432` for a throwaway database dropped at the end.
Exit status 1 on a violation. A killed attempt is retried after the send activity's 60 s start-to-close timeout,
so a run takes about as long as the burst plus a minute (abandoned-cart: plus the wait).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import ExitStack

from sqlalchemy import text

from bench import postgres, segment
from bench.smtp_sink import CountingSink, counting_sink
from bench.stack import Stack, StackError, embedded_stack, publish_journey, run_main
from drills.journeys import MODES, DrillJourney
from store.db import create_async_db_engine

READY = "worker polling task queue"
VERDICTS = ("sent", "uncertain", "skipped", "failed")
Disrupt = Callable[[Stack], Awaitable[None]]


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


async def disrupt_during_burst(
    stack: Stack, sink: CountingSink, n: int, times: int, disrupt: Disrupt = restart_worker, what: str = "kill"
) -> None:
    """Disrupt when the sink has received 1/(K+1), 2/(K+1) ... of the emails: always mid-burst."""
    loop = asyncio.get_running_loop()
    for k in range(1, times + 1):
        target = n * k // (times + 1)
        if not await sink.wait_total(target, loop.time() + 180):
            raise StackError(f"the sink never reached {target} emails (has {sink.total})")
        at = sink.total
        began = time.monotonic()
        await disrupt(stack)
        print(f"  {what} {k}/{times} at {at} emails received; back in {time.monotonic() - began:.1f} s", flush=True)


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


async def settle(journey: DrillJourney, database_url: str, timeout: float) -> dict[str, str]:
    """Every expected row's verdict; for abandoned-cart a little longer, past the purchasers' timeouts (they all
    entered with the others): a purchaser wrongly reminded shows up by then."""
    rows = await wait_for_verdicts(database_url, len(journey.expected()), timeout)
    if journey.mode == "abandoned-cart":
        await asyncio.sleep(5.0)
        rows = await message_log(database_url)
    return rows


def report(journey: DrillJourney, received: Counter[str], rows: dict[str, str], cut_off: int) -> int:
    """Compare the sink with the log: 0 lost, 0 duplicated, 0 purchasers reminded; 1 on a violation."""
    addresses = journey.expected()
    duplicated = [a for a in addresses if received[a] > 1]
    uncertain = [a for a in addresses if rows.get(a) == "uncertain"]
    lost = [a for a in addresses if received[a] == 0 and rows.get(a) != "uncertain"]
    sent = sum(1 for a in addresses if rows.get(a) == "sent")
    reminded = [a for a in journey.forbidden() if received[a] or a in rows]
    undelivered_uncertain = sum(1 for a in uncertain if not received[a])
    statuses = Counter(rows.get(a, "no row") for a in addresses)
    print(f"message log: {dict(sorted(statuses.items()))}")
    print(
        f"sent {sent} / lost {len(lost)} / duplicated {len(duplicated)} / uncertain {len(uncertain)} "
        f"({len(uncertain) - undelivered_uncertain} of them delivered); {cut_off} provider calls were cut off"
    )
    if journey.mode == "abandoned-cart":
        print(f"reminders expected {len(addresses)}; purchasers {len(journey.forbidden())}, reminded {len(reminded)}")
    failures = []
    if duplicated:
        failures.append(f"{len(duplicated)} duplicated, e.g. {duplicated[:3]}")
    if lost:
        failures.append(f"{len(lost)} lost, e.g. {[(a, rows.get(a, 'no row')) for a in lost[:3]]}")
    if reminded:
        failures.append(f"{len(reminded)} purchasers were reminded, e.g. {reminded[:3]}")
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


async def run_drill(
    args: argparse.Namespace, database_url: str, times: int, disrupt: Disrupt, what: str, label: str
) -> int:
    """The drill around one kind of disruption: stack up, journey published, contacts in, `times` disruptions
    mid-burst, verdicts, report."""
    journey = DrillJourney(args.journey, args.contacts, args.wait)
    expected = len(journey.expected())
    received: Counter[str] = Counter()
    async with counting_sink(delay=args.smtp_delay) as sink:
        sink.subscribe(lambda recipient, _raw: received.update([recipient]))
        async with embedded_stack(sink.port, database_url, label="drill") as stack:
            print(
                f"stack up on {'PostgreSQL' if database_url else 'SQLite'}; journey {args.journey}, "
                f"{args.contacts} contacts, {expected} emails expected",
                flush=True,
            )
            await publish_journey(stack, f"{label} ({args.journey})", journey.definition())
            began = time.monotonic()
            ingesting = asyncio.create_task(journey.ingest(stack))
            await disrupt_during_burst(stack, sink, expected, times, disrupt, what)
            await ingesting
            rows = await settle(journey, stack.database_url, args.timeout)
            await asyncio.sleep(args.smtp_delay * 4)  # a DATA still being accepted
            print(f"done in {time.monotonic() - began:.0f} s; the sink received {sink.total} emails")
            return report(journey, received, rows, max(0, sink.connections - sink.total))


async def main_async(args: argparse.Namespace) -> int:
    with ExitStack() as resources:
        database_url = args.database_url
        if args.postgres:
            database_url = resources.enter_context(postgres.throwaway_database(args.postgres))
        return await run_drill(args, database_url, args.kills, restart_worker, "kill", "Worker kill drill")


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """The journey, the sink and the database: what every kill drill takes."""
    parser.add_argument("--journey", choices=MODES, default="single-send", help="the journey (default single-send)")
    parser.add_argument("--contacts", type=int, default=300, help="contacts entering it (default 300)")
    parser.add_argument("--wait", default="PT20S", help="abandoned-cart: the order's timeout (default PT20S)")
    parser.add_argument("--smtp-delay", type=float, default=0.05, help="seconds per DATA at the sink (0.05)")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for every verdict (240)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--database-url",
        default=os.environ.get("MAUNTIC_DATABASE_URL", ""),
        help="an empty database to run on (default: MAUNTIC_DATABASE_URL, else SQLite in a temporary dir)",
    )
    where.add_argument("--postgres", metavar="SERVER", help="a PostgreSQL server to create a throwaway database on")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m drills.worker_kill", description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.add_argument("--kills", type=int, default=3, help="worker SIGKILLs during the burst (default 3)")
    args = parser.parse_args(argv)
    if args.contacts < 2 or args.kills < 0:
        parser.error("--contacts must be at least 2 and --kills not negative")
    return args


def main() -> None:
    run_main(main_async(parse_args()), (StackError, segment.IngestError))


if __name__ == "__main__":
    main()
