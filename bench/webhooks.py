"""Provider webhook ingestion throughput, verification and de-duplication included, on SQLite and PostgreSQL.

`python -m bench.webhooks [--events N] [--database sqlite|postgresql|both]` starts the embedded stack (Temporal
dev server, `mauntic worker`, `mauntic api`), configures a SendGrid provider with a signed Event Webhook key (our
own P-256 test key) and publishes a journey that waits for `opened`, then POSTs SendGrid-style batches of 100
mixed events (processed, delivered, open, click, deferred, bounces, spam reports, unsubscribes; one in ten about a
message in the message log) to /v1/webhooks/{provider_id}, each signed over timestamp + body as SendGrid signs:

(a) new events: N distinct events, over several concurrent connections (target >= 2,000 events/s);
(b) replay: the same signed batches again, as a provider retrying would send them: every event a duplicate;

then checks that exactly N rows were stored and that a forged batch is refused (401). PostgreSQL runs when asked
for (`--database`), or when MAUNTIC_TEST_DATABASE_URL names a server, in a throwaway database dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from sqlmodel import col

from bench import postgres
from bench.procstat import CpuUsage, report, sample, usage
from bench.smtp_sink import counting_sink
from bench.stack import Stack, StackError, embedded_stack, publish_journey, run_main
from domain.delivery.providers import ProviderType, parse_config
from domain.ids import new_id
from mauntic.secrets import SecretBox
from store.db import create_async_db_engine, session_factory
from store.models import DeliveryEvent, DeliveryProvider, MessageLog, Suppression

TARGET_EVENTS_PER_SECOND = 2_000
PG_ENV = "MAUNTIC_TEST_DATABASE_URL"
MESSAGES = 1_000  # message-log rows the events refer to (one event in ten)
# Per 100 events, roughly what a sending day reports.
MIX = (["processed"] * 30 + ["delivered"] * 30 + ["open"] * 20 + ["click"] * 10 + ["deferred"] * 5
       + ["bounce"] * 2 + ["blocked", "spamreport", "unsubscribe"])  # fmt: skip
JOURNEY: dict[str, object] = {
    "trigger": {"event": "Signed Up"},
    "start": "welcome",
    "steps": [
        {"id": "welcome", "type": "send_email", "subject": "Welcome!", "text": "Hi.", "next": "await_open"},
        {"id": "await_open", "type": "wait_for_event", "event": "opened", "timeout": "P3D", "on_event": "done",
         "on_timeout": "done"},
        {"id": "done", "type": "end"},
    ],
}  # fmt: skip


class BenchError(RuntimeError):
    pass


@dataclass
class Phase:
    label: str
    events: int
    requests: int
    wall: float
    new: int
    duplicates: int
    cpu: CpuUsage

    @property
    def rate(self) -> float:
        return self.events / self.wall if self.wall > 0 else 0.0


def event(run: str, index: int) -> dict[str, Any]:
    kind = MIX[index % len(MIX)]
    record: dict[str, Any] = {
        "email": f"user{index % 5000}@bench.example.com",
        "timestamp": int(time.time()),
        "event": "bounce" if kind == "blocked" else kind,
        "sg_event_id": f"{run}-{index:08d}",
        "sg_message_id": f"{run}msg{index % 20000}.filterdrecv-12345-abc-1.0",
        "smtp-id": f"<{run}{index}@ismtpd-001>",
        "category": ["bench"],
    }
    if kind in ("bounce", "blocked"):
        record |= {"type": kind, "reason": "550 5.1.1 unknown user" if kind == "bounce" else "421 try later",
                   "status": "5.1.1" if kind == "bounce" else "4.0.0"}  # fmt: skip
    if kind == "deferred":
        record |= {"response": "400 try again later", "attempt": "1"}
    if kind == "click":
        record["url"] = f"https://shop.example.com/products/{index % 300}"
    if kind in ("open", "click"):
        record["useragent"] = "Mozilla/5.0 (bench)"
    if index % 10 == 0:
        record["message_log_id"] = message_log_id(run, index % MESSAGES)
    return record


def message_log_id(run: str, n: int) -> str:
    return f"msg_{run}{n:06d}"


Batch = tuple[bytes, dict[str, str]]


def signed_batches(events: int, batch: int, run: str, key: ec.EllipticCurvePrivateKey) -> list[Batch]:
    timestamp = str(int(time.time()))
    out = []
    for start in range(0, events, batch):
        body = orjson.dumps([event(run, i) for i in range(start, min(events, start + batch))]) + b"\r\n"
        signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        out.append((body, {
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        }))  # fmt: skip
    return out


async def setup(stack: Stack, secret_key: str, key: ec.EllipticCurvePrivateKey, run: str) -> str:
    """The SendGrid provider (secrets encrypted as the API stores them) and the message logs events refer to."""
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    raw = {"api_key": "SG.bench", "webhook_verification_key": base64.b64encode(public).decode()}
    config = parse_config(ProviderType.SENDGRID, raw)
    provider = DeliveryProvider(
        id=new_id("prv"), workspace_id=stack.workspace_id, name="sendgrid-bench", type="sendgrid", channel="email",
        config=config.public(), secrets=SecretBox(secret_key).encrypt_json(config.secrets()),
    )  # fmt: skip
    engine = create_async_db_engine(stack.database_url)
    try:
        async with session_factory(engine)() as session:
            session.add(provider)
            session.add_all(
                MessageLog(
                    id=message_log_id(run, n),
                    workspace_id=stack.workspace_id,
                    idempotency_key=f"{run}-{n}",
                    contact_id=f"ct_{run}{n}",
                    journey_id="jrn_bench",
                    step_id="welcome",
                    to_address=f"user{n}@bench.example.com",
                    status="sent",
                )
                for n in range(MESSAGES)
            )
            await session.commit()
    finally:
        await engine.dispose()
    return provider.id


async def send_all(
    stack: Stack, label: str, path: str, batches: list[Batch], concurrency: int, timeout: float
) -> Phase:
    pending = iter(batches)
    totals = {"events": 0, "new": 0, "requests": 0}
    pids = stack.pids() | {"bench (driver)": os.getpid()}
    groups = {}
    if stack.database_url.startswith("postgresql"):
        groups["postgres backends"] = ("postgres", f" {stack.database_url.rsplit('/', 1)[-1]} ")
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60, limits=limits) as http:

        async def connection() -> None:
            for body, headers in pending:  # shared iterator: each connection takes the next batch
                response = await http.post(path, content=body, headers=headers)
                if response.status_code != 200:
                    raise BenchError(f"{path} answered {response.status_code}: {response.text[:300]}")
                answer = response.json()
                totals["events"] += answer["events"]
                totals["new"] += answer["new"]
                totals["requests"] += 1

        before = sample(pids, groups=groups)
        began = time.monotonic()
        async with asyncio.timeout(timeout):
            await asyncio.gather(*(connection() for _ in range(concurrency)))
        wall = time.monotonic() - began
        cpu = usage(before, sample(pids, groups=groups), wall)
    events = totals["events"]
    return Phase(label, events, totals["requests"], wall, totals["new"], events - totals["new"], cpu)


async def stored(stack: Stack, provider_id: str) -> tuple[int, int]:
    engine = create_async_db_engine(stack.database_url)
    try:
        async with session_factory(engine)() as session:
            rows = select(func.count()).select_from(DeliveryEvent).where(col(DeliveryEvent.provider_id) == provider_id)
            suppressed = select(func.count()).select_from(Suppression).where(
                col(Suppression.workspace_id) == stack.workspace_id)  # fmt: skip
            count_rows = int((await session.execute(rows)).scalar_one())
            return count_rows, int((await session.execute(suppressed)).scalar_one())
    finally:
        await engine.dispose()


async def forged_is_refused(stack: Stack, path: str, batch: Batch) -> bool:
    body, headers = batch
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as http:
        response = await http.post(path, content=body.replace(b"bench.example.com", b"forged.example"), headers=headers)
    return response.status_code == 401 and response.json()["error"]["code"] == "invalid_signature"


def print_phase(label: str, phase: Phase) -> None:
    verdict = "met" if phase.rate >= TARGET_EVENTS_PER_SECOND else "NOT met"
    target = f"(target >= {TARGET_EVENTS_PER_SECOND:,}: {verdict})"
    print(f"[{label}] {phase.label:<13} {phase.rate:8,.0f} events/s   {target}  "
          f"{phase.events:,} events in {phase.requests:,} requests, {phase.wall:.1f} s; new {phase.new:,}, "
          f"duplicates {phase.duplicates:,}")  # fmt: skip


async def run_database(label: str, database_url: str, args: argparse.Namespace) -> None:
    run = uuid.uuid4().hex[:6]
    secret_key = secrets.token_urlsafe(48)
    key = ec.generate_private_key(ec.SECP256R1())
    async with (
        counting_sink() as sink,
        embedded_stack(
            sink.port,
            database_url,
            keep=args.keep,
            label=f"webhooks-{label}",
            profile=["api"] if args.profile else [],
            settings_env={"MAUNTIC_SECRET_KEY": secret_key},
        ) as stack,
    ):
        provider_id = await setup(stack, secret_key, key, run)
        await publish_journey(stack, "Waits for opens", JOURNEY)
        path = f"/v1/webhooks/{provider_id}"
        batches = signed_batches(args.events, args.batch, run, key)
        print(f"[{label}] stack up: API {stack.api_url}; {args.events:,} events in {len(batches):,} signed batches ...")
        fresh = await send_all(stack, "new events", path, batches, args.concurrency, args.timeout)
        print(f"[{label}] new events: {fresh.rate:,.0f} events/s; replaying the same batches ...")
        replay = await send_all(stack, "replay (dups)", path, batches, args.concurrency, args.timeout)
        rows, suppressed = await stored(stack, provider_id)
        refused = await forged_is_refused(stack, path, batches[0])
    print()
    print_phase(label, fresh)
    print_phase(label, replay)
    print(f"[{label}] stored rows {rows:,} / {args.events:,} distinct events; suppressions added {suppressed:,}; "
          f"forged batch refused (401 invalid_signature): {'yes' if refused else 'NO'}")  # fmt: skip
    print("\n".join(report(f"[{label}] new events", fresh.cpu, fresh.events, "event")))
    print("\n".join(report(f"[{label}] replay", replay.cpu, replay.events, "event")))
    if rows != args.events or fresh.new != args.events or replay.new != 0 or not refused:
        raise BenchError(f"[{label}] de-duplication or verification did not hold (see above)")


@contextmanager
def postgres_database() -> Iterator[str]:
    server = os.environ.get(PG_ENV, "").rsplit("/", 1)[0] or postgres.SERVER
    if not postgres.reachable(server):
        raise StackError(f"PostgreSQL does not answer at {server}")
    with postgres.throwaway_database(server) as url:
        yield url


def databases(choice: str | None) -> list[str]:
    if choice == "both":
        return ["sqlite", "postgresql"]
    if choice is not None:
        return [choice]
    return ["sqlite", "postgresql"] if os.environ.get(PG_ENV) else ["sqlite"]


async def main_async(args: argparse.Namespace) -> int:
    for label in databases(args.database):
        if label == "sqlite":
            await run_database(label, "", args)
            continue
        with postgres_database() as url:
            await run_database(label, url, args)
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000, help="distinct events sent (50,000)")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default=None,
                        help=f"default: sqlite, and postgresql too when {PG_ENV} is set")  # fmt: skip
    parser.add_argument("--batch", type=int, default=100, help="events per webhook request (100)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent connections (8)")
    parser.add_argument("--timeout", type=float, default=600.0, help="bound on each measured phase, seconds (600)")
    parser.add_argument("--profile", action="store_true", help="profile the API's CPU (slower)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dirs (logs, SQLite files)")
    return parser.parse_args(argv)


def main() -> None:
    run_main(main_async(parse_args()), (StackError, BenchError, TimeoutError, httpx.HTTPError))


if __name__ == "__main__":
    main()
