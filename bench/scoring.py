"""Lead-scoring benchmark: the full score recompute over a seeded workspace, and the leaderboard.

`python -m bench.scoring [--contacts 1000000] [--events 5000000] [--database sqlite|postgresql|both]
[--chunk 20000]` seeds a throwaway database with bench.seed (SQLite in a temporary directory; PostgreSQL at
127.0.0.1:5432 in a database `mauntic_bench_<random>` dropped at the end), adds four event rules (caps, filters
on properties, half-lives) and a threshold, then times:

- the full recompute, cold (an empty ledger: every grant is new) and again warm (the ledger is rebuilt), running
  store.scoring_recompute.recompute_chunk over every chunk of contacts, as the ScoreRecompute activity does (the
  workflow adds a heartbeat per chunk and one activity task per 50 chunks);
- the leaderboard, top 100 of the `total` group, through store.scoring_reads.leaderboard (median and worst of 50).

Targets (issue 9): full recompute of 1M contacts and 5M events < 10 s on SQLite, < 30 s on PostgreSQL;
leaderboard top 100 of 1M < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench import postgres
from bench.seed import seed
from domain.scoring.rules import RuleSpec, ThresholdSpec
from store.db import create_async_db_engine, session_factory
from store.scoring_reads import leaderboard
from store.scoring_recompute import recompute_chunk
from store.scoring_rules import create_rule, create_threshold, load_scoring

RULES = [
    {"name": "Pricing views", "group": "interest", "points": 5, "event": "Page Viewed",
     "where": [{"property": "path", "op": "eq", "value": "/pricing"}],
     "cap": {"points": 20, "window_hours": 24}, "half_life_hours": 168},
    {"name": "Demo request", "group": "interest", "points": 30, "event": "Demo Requested"},
    {"name": "Big order", "group": "engagement", "points": 10, "event": "Order Completed",
     "where": [{"property": "amount", "op": "gte", "value": 100}], "half_life_hours": 720},
    {"name": "Email click", "group": "engagement", "points": 2, "event": "Email Clicked",
     "cap": {"points": 6, "window_hours": 168}},
]  # fmt: skip
TARGETS = {"sqlite": 10.0, "postgresql": 30.0}
LEADERBOARD_TARGET_MS = 50.0


async def _recompute(url: str, workspace_id: str, chunk: int, now: datetime) -> tuple[float, int, int]:
    engine = create_async_db_engine(url)
    try:
        sessions = session_factory(engine)
        async with sessions() as session:
            scoring = await load_scoring(session, workspace_id)
        started = time.perf_counter()
        after, contacts, crossings = None, 0, 0
        while True:
            async with sessions() as session:
                result = await recompute_chunk(session, workspace_id, scoring, after, chunk, now)
            if result.last_contact_id is None:
                break
            after, contacts, crossings = (
                result.last_contact_id,
                contacts + result.contacts,
                crossings + result.crossings,
            )
        return time.perf_counter() - started, contacts, crossings
    finally:
        await engine.dispose()


async def _setup(url: str, workspace_id: str, now: datetime) -> None:
    engine = create_async_db_engine(url)
    try:
        async with session_factory(engine)() as session:
            for rule in RULES:
                await create_rule(session, workspace_id, RuleSpec.model_validate(rule), now)
            await create_threshold(session, workspace_id, ThresholdSpec(group="total", value=50), now)
            await session.commit()
    finally:
        await engine.dispose()


async def _leaderboard(url: str, workspace_id: str) -> tuple[float, float, int]:
    engine = create_async_db_engine(url)
    try:
        async with session_factory(engine)() as session:
            await leaderboard(session, workspace_id, "total", 100)  # warm the connection and cache
            times = []
            for _ in range(50):
                started = time.perf_counter()
                rows = await leaderboard(session, workspace_id, "total", 100)
                times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times), max(times), len(rows)
    finally:
        await engine.dispose()


def run(url: str, dialect: str, contacts: int, events: int, chunk: int) -> None:
    seeded = seed(url, contacts=contacts, events=events)
    print(f"[{dialect}] {seeded.describe()}", flush=True)
    asyncio.run(_setup(url, seeded.workspace_id, seeded.now))
    target = TARGETS[dialect]
    for label in ("cold", "warm"):
        seconds, done, crossings = asyncio.run(_recompute(url, seeded.workspace_id, chunk, seeded.now))
        print(
            f"[{dialect}] full recompute ({label}), {done:,} contacts, {events:,} events, chunks of {chunk:,}: "
            f"{seconds:.1f} s ({done / seconds:,.0f} contacts/s; {crossings:,} crossings) — target < {target:.0f} s "
            f"at 1M/5M",
            flush=True,
        )
    median, worst, n = asyncio.run(_leaderboard(url, seeded.workspace_id))
    print(
        f"[{dialect}] leaderboard top {n} of {contacts:,}: median {median:.2f} ms, worst {worst:.2f} ms — "
        f"target < {LEADERBOARD_TARGET_MS:.0f} ms",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--chunk", type=int, default=20_000)
    args = parser.parse_args()
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="mauntic-bench-scoring-") as tmp:
            run(f"sqlite:///{Path(tmp) / 'bench.db'}", "sqlite", args.contacts, args.events, args.chunk)
    if args.database in ("postgresql", "both"):
        if not postgres.reachable():
            print("[postgresql] not reachable at 127.0.0.1:5432: skipped", flush=True)
            return
        with postgres.throwaway_database() as url:
            run(url, "postgresql", args.contacts, args.events, args.chunk)


if __name__ == "__main__":
    main()
