"""Benchmark: outbound webhook deliveries per second to a local sink, on SQLite and PostgreSQL (target >= 500/s).

`python -m bench.outbound_webhooks [--deliveries N] [--database-url URL | --postgres SERVER | --both]` starts the
real stack (Temporal dev server, `mauntic worker` with its dispatcher, `mauntic api`: bench.stack), subscribes an
endpoint through the API to contact.created, pointing at a bare loopback sink (drills.webhook_sink), then writes N
contacts and their N `contact` outbox rows in one transaction, as ingestion would, and times until the sink has
accepted N distinct webhook-ids. The figure covers the whole path: the dispatcher's consumer turning outbox rows
into delivery rows, the delivery workflow's activity claiming them in chunks, signing and POSTing them over one
pooled client, and settling each chunk. Signatures of a sample are checked with the `standardwebhooks` verifier.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
from sqlalchemy import func, insert, select
from sqlmodel import col
from standardwebhooks import Webhook

from bench import postgres
from bench.procstat import process_cpu_seconds
from bench.stack import Stack, StackError, embedded_stack, run_main
from domain.clock import utcnow
from domain.events.interest import OutboxKind
from domain.ids import new_id
from drills.webhook_sink import WebhookSink
from store.db import create_async_db_engine, session_factory
from store.models import Contact
from store.models_webhooks import WebhookDelivery
from store.outbox import OutboxEvent, enqueue

TARGET_PER_SECOND = 500.0
SETTINGS_ENV = {
    "MAUNTIC_PROVIDER_PRIVATE_NETWORKS": "true",  # the sink listens on loopback
    "MAUNTIC_DISPATCH_POLL_SECONDS": "0.2",
    # no email is sent here; the SMTP port only has to be valid
}


@dataclass
class Subscribed:
    endpoint_id: str
    secret: str


async def subscribe(stack: Stack, sink: WebhookSink) -> Subscribed:
    async with httpx.AsyncClient(base_url=stack.api_url, headers={"Authorization": f"Bearer {stack.api_key}"}) as api:
        answer = await api.post("/v1/webhook-endpoints", json={"url": sink.url, "event_types": ["contact.created"]})
        if answer.status_code != 201:
            raise StackError(f"creating the endpoint answered {answer.status_code}: {answer.text}")
        body = answer.json()
    await asyncio.sleep(2.5)  # the API's and the dispatcher's 2 s caches of what the workspace subscribes to
    return Subscribed(body["id"], body["secret"])


async def seed_contacts(stack: Stack, n: int, label: str) -> None:
    """N contacts and their `created` outbox rows, one transaction (what N identifies would queue)."""
    now = utcnow()
    contacts = [
        {"id": new_id("c"), "workspace_id": stack.workspace_id, "email": f"{label}{i}@example.test",
         "external_id": f"{label}-{i}", "first_name": f"N{i}", "attributes": {}, "created_at": now, "updated_at": now}
        for i in range(n)
    ]  # fmt: skip
    events = [
        OutboxEvent(stack.workspace_id, str(c["id"]), new_id("ev"), "created", {}, now, OutboxKind.CONTACT)
        for c in contacts
    ]
    engine = create_async_db_engine(stack.database_url)
    try:
        async with session_factory(engine)() as session:
            for start in range(0, n, 1000):
                await session.execute(insert(Contact.__table__), contacts[start : start + 1000])  # type: ignore[attr-defined]
            await enqueue(session, events, now)
            await session.commit()
    finally:
        await engine.dispose()


async def delivery_rows(database_url: str) -> dict[str, int]:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            result = await session.execute(
                select(col(WebhookDelivery.status), func.count()).group_by(col(WebhookDelivery.status))
            )
            return {status: count for status, count in result}
    finally:
        await engine.dispose()


async def wait_accepted(stack: Stack, sink: WebhookSink, n: int, timeout: float, progress: bool = False) -> None:
    deadline = time.monotonic() + timeout
    last = time.monotonic()
    while len(sink.accepted) < n:
        if progress and time.monotonic() - last > 2:
            last = time.monotonic()
            print(f"  {len(sink.accepted)} accepted; rows {await delivery_rows(stack.database_url)}", flush=True)
        stack.check_alive()
        if time.monotonic() > deadline:
            raise StackError(f"the sink accepted {len(sink.accepted)} of {n} deliveries within {timeout:.0f} s")
        await asyncio.sleep(0.05)


def check_signatures(sink: WebhookSink, secret: str, sample: int = 50) -> int:
    verifier = Webhook(secret)
    chosen = random.sample(sink.requests, min(sample, len(sink.requests)))
    for request in chosen:
        verifier.verify(request.body, request.headers)
    return len(chosen)


async def run_once(database_url: str, n: int, timeout: float, progress: bool = False) -> float:
    where = "PostgreSQL" if database_url else "SQLite"
    async with WebhookSink().running() as sink:
        async with embedded_stack(1025, database_url, label="hooks", settings_env=SETTINGS_ENV) as stack:
            subscribed = await subscribe(stack, sink)
            pids = {name: stack.processes[name].pid for name in ("worker", "temporal", "api")}
            cpu_before = {name: process_cpu_seconds(pid) for name, pid in pids.items()}
            own_before = time.process_time()
            began = time.monotonic()
            await seed_contacts(stack, n, "b")
            await wait_accepted(stack, sink, n, timeout, progress)
            elapsed = time.monotonic() - began
            cpu = {name: process_cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
            cpu["bench+sink"] = time.process_time() - own_before
            rows = await delivery_rows(stack.database_url)
            verified = check_signatures(sink, subscribed.secret)
    rate = n / elapsed
    duplicates = sum(count - 1 for count in sink.seen.values())
    verdict = "ok" if rate >= TARGET_PER_SECOND else "MISSED"
    per = ", ".join(f"{name} {1000 * seconds / n:.2f}" for name, seconds in cpu.items())
    worker_ms = 1000 * cpu["worker"] / n
    print(
        f"{where:<10} CPU per delivery (ms): {per}; one dedicated core for the worker would allow about "
        f"{1000 / worker_ms:.0f}/s (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)",
        flush=True,
    )
    print(
        f"{where:<10} {n} deliveries in {elapsed:6.2f} s = {rate:7.1f}/s (target >= {TARGET_PER_SECOND:.0f}/s: "
        f"{verdict}); rows {rows}; repeats at the sink {duplicates}; {verified} signatures verified",
        flush=True,
    )
    return rate


async def main_async(args: argparse.Namespace) -> int:
    targets: list[str] = []
    with ExitStack() as resources:
        if args.both or not (args.database_url or args.postgres):
            targets.append("")
        if args.database_url:
            targets.append(args.database_url)
        if args.postgres or args.both:
            targets.append(resources.enter_context(postgres.throwaway_database(args.postgres or postgres.SERVER)))
        rates = [await run_once(url, args.deliveries, args.timeout, args.progress) for url in targets]
    return 0 if all(rate >= TARGET_PER_SECOND for rate in rates) else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.outbound_webhooks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=5000, help="deliveries to time (default 5000)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for them all (300)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database-url", default=os.environ.get("MAUNTIC_DATABASE_URL", ""), help="an empty database")
    where.add_argument("--postgres", metavar="SERVER", help="a PostgreSQL server to create a throwaway database on")
    parser.add_argument("--progress", action="store_true", help="print the sink's and the table's counts every 2 s")
    parser.add_argument("--both", action="store_true", help="SQLite, then a throwaway PostgreSQL database")
    return parser.parse_args(argv)


def main() -> None:
    run_main(main_async(parse_args()), (StackError,))


if __name__ == "__main__":
    main()
