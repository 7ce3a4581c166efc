"""Drill: the worker is SIGKILLed while outbound webhooks go out; no delivery may be lost.

`python -m drills.webhook_kill [--deliveries N] [--kills K] [--database-url URL | --postgres SERVER]` starts the
real stack (bench.stack: Temporal dev server, `mauntic worker` with its dispatcher, `mauntic api`), subscribes an
endpoint to contact.created at a loopback sink (drills.webhook_sink, which dedupes on `webhook-id` as receivers
should), queues N contact creations, SIGKILLs the worker K times while the deliveries go out (starting a new one
each time), and waits until the sink has accepted every delivery:

- lost: a delivery row the sink never accepted, or an event that got no delivery row (must be 0);
- repeated: requests for a webhook-id the sink had already seen (allowed: at-least-once; counted once after
  dedupe). Only deliveries in flight at a kill may repeat.

A killed chunk is retried once its lease (MAUNTIC_WEBHOOK_LEASE_SECONDS, 10 s here) and the activity's heartbeat
timeout have passed. Exit status 1 on a loss.
"""

from __future__ import annotations

import argparse
import os
import time
from contextlib import ExitStack

from sqlalchemy import select

from bench import postgres
from bench.outbound_webhooks import SETTINGS_ENV, delivery_rows, seed_contacts, subscribe, wait_accepted
from bench.stack import StackError, embedded_stack, run_main
from drills.webhook_sink import WebhookSink
from drills.worker_kill import restart_worker
from store.db import create_async_db_engine, session_factory
from store.models_webhooks import WebhookDelivery


async def delivery_ids(database_url: str) -> set[str]:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return set((await session.execute(select(WebhookDelivery.id))).scalars())  # type: ignore[call-overload]
    finally:
        await engine.dispose()


async def drill(args: argparse.Namespace, database_url: str) -> int:
    n = args.deliveries
    env = SETTINGS_ENV | {"MAUNTIC_WEBHOOK_LEASE_SECONDS": "10"}
    async with WebhookSink(keep_requests=False).running() as sink:
        async with embedded_stack(1025, database_url, label="hookkill", settings_env=env) as stack:
            print(f"stack up on {'PostgreSQL' if database_url else 'SQLite'}; {n} deliveries", flush=True)
            await subscribe(stack, sink)
            began = time.monotonic()
            await seed_contacts(stack, n, "k")
            for k in range(1, args.kills + 1):
                target = n * k // (args.kills + 1)
                await wait_accepted(stack, sink, target, args.timeout)
                await restart_worker(stack)
                print(f"  kill {k}/{args.kills} at {len(sink.accepted)} accepted; worker restarted", flush=True)
            try:
                await wait_accepted(stack, sink, n, args.timeout)
            except StackError as exc:
                print(f"  {exc}")
            elapsed = time.monotonic() - began
            ids = await delivery_ids(stack.database_url)
            rows = await delivery_rows(stack.database_url)
    lost = (n - len(ids)) + len(ids - sink.accepted)
    repeated = sum(count - 1 for count in sink.seen.values())
    print(f"done in {elapsed:.0f} s; rows {rows}")
    print(f"deliveries {n} / lost {lost} / repeated {repeated} (each webhook-id counted once after dedupe: "
          f"{len(sink.accepted & ids)})")  # fmt: skip
    print("ok: no delivery lost by the kills" if lost == 0 else "FAILED: deliveries lost")
    return 1 if lost else 0


async def main_async(args: argparse.Namespace) -> int:
    with ExitStack() as resources:
        database_url = args.database_url
        if args.postgres:
            database_url = resources.enter_context(postgres.throwaway_database(args.postgres))
        return await drill(args, database_url)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m drills.webhook_kill", description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=1500, help="deliveries (default 1500)")
    parser.add_argument("--kills", type=int, default=2, help="worker SIGKILLs while they go out (default 2)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for them all (300)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database-url", default=os.environ.get("MAUNTIC_DATABASE_URL", ""), help="an empty database")
    where.add_argument("--postgres", metavar="SERVER", help="a PostgreSQL server to create a throwaway database on")
    args = parser.parse_args(argv)
    if args.deliveries < 1 or args.kills < 0:
        parser.error("--deliveries must be positive and --kills not negative")
    return args


def main() -> None:
    run_main(main_async(parse_args()), (StackError,))


if __name__ == "__main__":
    main()
