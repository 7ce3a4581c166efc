"""Drill: the worker is SIGKILLed twice during a CSV import; no row may be lost or applied twice.

`python -m drills.import_kill [--rows N] [--kills K] [--database-url URL | --postgres SERVER]` starts the real
stack (bench.stack: Temporal dev server, `mauntic worker`, `mauntic api`), uploads a generated CSV of N rows
(default 200,000) through `POST /v1/imports` — every 101st row a bad email, every 37th a duplicate of an earlier
row (same email and id, a new first name and plan) — SIGKILLs the worker K times (default 2) once the import's
progress has moved past 1/(K+1), 2/(K+1) ... of the rows, starting a new worker each time, waits for the import
to finish and checks:

- status `completed`, rows_done N, imported = the distinct valid contacts, updated = the duplicate rows, failed =
  the bad rows, exactly (a chunk applied twice would count its rows twice);
- every valid contact stored exactly once, with the values of its last row in the file (a lost chunk leaves it
  missing or stale), its external id linked once, and no contact the file does not name;
- the errors CSV lists exactly the bad rows, each once.

The activity's heartbeat timeout is 10 s here (MAUNTIC_IMPORT_HEARTBEAT_SECONDS), so a killed attempt resumes
about 10 s later from the last committed chunk. SQLite by default; PostgreSQL with `--database-url` (an empty
database) or `--postgres postgresql://postgres@127.0.0.1:5432` (a throwaway database dropped at the end).
Exit status 1 on a violation.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field

import httpx
import orjson
from sqlalchemy import text

from bench import postgres
from bench.stack import Stack, StackError, embedded_stack, run_main
from drills.worker_kill import restart_worker
from store.db import create_async_db_engine

MAPPING = '{"Email":"email","Id":"external_id","First":"first_name","Plan":"attributes.plan"}'
SETTINGS_ENV = {"MAUNTIC_IMPORT_HEARTBEAT_SECONDS": "10", "MAUNTIC_IMPORT_CHUNK_ROWS": "20000"}


@dataclass
class Expected:
    """What the file must lead to: per contact key (n) its last values; the bad rows (1-based data rows)."""

    contacts: dict[int, tuple[str, str]] = field(default_factory=dict)  # n -> (first_name, plan)
    bad_rows: list[int] = field(default_factory=list)
    duplicates: int = 0


def generate(rows: int) -> tuple[bytes, Expected]:
    expected = Expected()
    lines = ["Email,Id,First,Plan"]
    originals: list[int] = []
    for i in range(rows):
        if i % 101 == 50:
            lines.append(f"bad{i}@,b{i},Bad{i},free")
            expected.bad_rows.append(i + 1)
        elif i % 37 == 36 and originals:
            n = originals[(i * 7919) % len(originals)]
            plan = "dup" if i % 2 else "vip"
            lines.append(f"user{n}@example.com,u{n},Dup{i},{plan}")
            expected.contacts[n] = (f"Dup{i}", plan)
            expected.duplicates += 1
        else:
            plan = "pro" if i % 3 == 0 else "free"
            lines.append(f"user{i}@example.com,u{i},First{i},{plan}")
            expected.contacts[i] = (f"First{i}", plan)
            originals.append(i)
    return ("\n".join(lines) + "\n").encode(), expected


async def upload(api: httpx.AsyncClient, data: bytes) -> str:
    answer = await api.post(
        "/v1/imports?filename=drill.csv",
        content=data,
        headers={"Content-Type": "text/csv", "Import-Mapping": MAPPING},
        timeout=120,
    )
    if answer.status_code != 202:
        raise StackError(f"POST /v1/imports answered {answer.status_code}: {answer.text[:500]}")
    return str(answer.json()["id"])


async def state(api: httpx.AsyncClient, import_id: str) -> dict[str, object]:
    answer = await api.get(f"/v1/imports/{import_id}")
    answer.raise_for_status()
    body: dict[str, object] = answer.json()
    return body


async def kill_during_import(stack: Stack, api: httpx.AsyncClient, import_id: str, rows: int, kills: int) -> None:
    """SIGKILL the worker once rows_done has passed k/(K+1) of the rows: always after progress moved, mid-run."""
    for k in range(1, kills + 1):
        target = rows * k // (kills + 1)
        deadline = time.monotonic() + 120
        while True:
            stack.check_alive()
            now = await state(api, import_id)
            done = int(str(now["rows_done"]))
            if now["status"] in ("completed", "failed"):
                raise StackError(f"the import finished ({now['status']}, {done} rows) before kill {k}/{kills}")
            if done >= target:
                break
            if time.monotonic() > deadline:
                raise StackError(f"the import never reached {target} rows (has {done})")
            await asyncio.sleep(0.05)
        began = time.monotonic()
        await restart_worker(stack)
        print(f"  kill {k}/{kills} at {done} rows done; worker back in {time.monotonic() - began:.1f} s", flush=True)


async def wait_finished(api: httpx.AsyncClient, import_id: str, timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        now = await state(api, import_id)
        if now["status"] in ("completed", "failed") or time.monotonic() > deadline:
            return now
        await asyncio.sleep(0.5)


async def stored(database_url: str, workspace_id: str) -> tuple[list[tuple[str, str, str, str]], Counter[str]]:
    """(email, external_id, first_name, plan) of every contact of the workspace; external-id links by value."""
    engine = create_async_db_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT email, external_id, first_name, attributes FROM contact WHERE workspace_id = :ws"),
                {"ws": workspace_id},
            )
            contacts = []
            for email, external_id, first_name, attributes in rows.all():
                attrs = orjson.loads(attributes) if isinstance(attributes, str | bytes) else attributes
                contacts.append((str(email), str(external_id), str(first_name), str((attrs or {}).get("plan"))))
            links = await conn.execute(
                text("SELECT value FROM contact_identity WHERE workspace_id = :ws AND kind = 'user'"),
                {"ws": workspace_id},
            )
            return contacts, Counter(str(value) for (value,) in links.all())
    finally:
        await engine.dispose()


def check(
    expected: Expected,
    rows: int,
    final: dict[str, object],
    errors: list[int],
    contacts: list[tuple[str, str, str, str]],
    links: Counter[str],
) -> list[str]:
    failures = []
    want = {
        "status": "completed",
        "rows_done": rows,
        "imported": len(expected.contacts),
        "updated": expected.duplicates,
        "failed": len(expected.bad_rows),
    }
    got = {key: final.get(key) for key in want}
    if got != want:
        failures.append(f"the import's counts are {got}, expected {want}")
    if errors != expected.bad_rows:
        extra = sorted(set(errors) - set(expected.bad_rows))[:5]
        missing = sorted(set(expected.bad_rows) - set(errors))[:5]
        repeated = [row for row, times in Counter(errors).items() if times > 1][:5]
        failures.append(
            f"the errors CSV lists {len(errors)} rows, expected {len(expected.bad_rows)} "
            f"(extra {extra}, missing {missing}, listed twice {repeated})"
        )
    by_email = Counter(email for email, *_ in contacts)
    twice = [email for email, times in by_email.items() if times > 1]
    if twice:
        failures.append(f"{len(twice)} emails are stored on more than one contact, e.g. {twice[:3]}")
    wanted = {f"user{n}@example.com": (f"u{n}", first, plan) for n, (first, plan) in expected.contacts.items()}
    have = {email: (external_id, first, plan) for email, external_id, first, plan in contacts}
    missing_contacts = [email for email in wanted if email not in have]
    unknown = [email for email in have if email not in wanted]
    stale = [(email, have[email], last) for email, last in wanted.items() if email in have and have[email] != last]
    if missing_contacts:
        failures.append(f"{len(missing_contacts)} valid rows' contacts are missing, e.g. {missing_contacts[:3]}")
    if unknown:
        failures.append(f"{len(unknown)} contacts the file does not name (bad rows imported?), e.g. {unknown[:3]}")
    if stale:
        failures.append(f"{len(stale)} contacts do not hold their last row's values, e.g. {stale[:2]}")
    wrong_links = [value for value in {f"u{n}" for n in expected.contacts} if links[value] != 1]
    if wrong_links or len(links) != len(expected.contacts):
        failures.append(f"external-id links: {len(links)} values for {len(expected.contacts)} contacts")
    return failures


async def drill(args: argparse.Namespace, database_url: str) -> int:
    data, expected = generate(args.rows)
    async with embedded_stack(1025, database_url, label="importkill", settings_env=SETTINGS_ENV) as stack:
        print(
            f"stack up on {'PostgreSQL' if database_url else 'SQLite'}; {args.rows} rows "
            f"({len(expected.contacts)} contacts, {expected.duplicates} duplicates, {len(expected.bad_rows)} bad), "
            f"{len(data) / 1e6:.1f} MB",
            flush=True,
        )
        headers = {"Authorization": f"Bearer {stack.api_key}"}
        async with httpx.AsyncClient(base_url=stack.api_url, headers=headers, timeout=30) as api:
            began = time.monotonic()
            import_id = await upload(api, data)
            print(f"  uploaded in {time.monotonic() - began:.1f} s as {import_id}", flush=True)
            await kill_during_import(stack, api, import_id, args.rows, args.kills)
            final = await wait_finished(api, import_id, args.timeout)
            print(f"done in {time.monotonic() - began:.0f} s: {final}", flush=True)
            listed = (await api.get(f"/v1/imports/{import_id}/errors", timeout=60)).text
        errors = [int(line["row"]) for line in csv.DictReader(io.StringIO(listed))]
        contacts, links = await stored(stack.database_url, stack.workspace_id)
    failures = check(expected, args.rows, final, errors, contacts, links)
    print(f"contacts stored {len(contacts)} (expected {len(expected.contacts)}); errors listed {len(errors)}")
    for failure in failures:
        print(f"VIOLATION: {failure}")
    if not failures:
        print(f"ok: {args.kills} worker kills, every valid row applied exactly once, exactly the bad rows refused")
    return 1 if failures else 0


async def main_async(args: argparse.Namespace) -> int:
    with ExitStack() as resources:
        database_url = args.database_url
        if args.postgres:
            database_url = resources.enter_context(postgres.throwaway_database(args.postgres, args.db_prefix))
        return await drill(args, database_url)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m drills.import_kill", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows in the CSV (default 200,000)")
    parser.add_argument("--kills", type=int, default=2, help="worker SIGKILLs during the import (default 2)")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for the import (240)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--database-url",
        default=os.environ.get("MAUNTIC_DATABASE_URL", ""),
        help="an empty database to run on (default: MAUNTIC_DATABASE_URL, else SQLite in a temporary dir)",
    )
    where.add_argument("--postgres", metavar="SERVER", help="a PostgreSQL server to create a throwaway database on")
    parser.add_argument("--db-prefix", default="mauntic_bench_", help="name prefix of the throwaway database")
    args = parser.parse_args(argv)
    if args.rows < 1000 or args.kills < 0:
        parser.error("--rows must be at least 1000 and --kills not negative")
    return args


def main() -> None:
    run_main(main_async(parse_args()), (StackError, httpx.HTTPError))


if __name__ == "__main__":
    main()
