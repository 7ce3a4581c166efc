"""The audit log: the cost of an audited write, and the chain verification rate.

`python -m bench.audit [--entries N] [--per-commit K] [--database-url URL]` migrates a database (a temporary
SQLite file by default; a PostgreSQL database by URL), then:

1. **append**: N entries recorded through `store.audit.record_audit`, K per transaction (default 1: the cost of
   one audited write, head lock included), timed per transaction;
2. **verify**: `store.audit.verify_workspace` walks the whole chain (streamed in batches, hashed, linked) and must
   find it intact.

Prints the append cost per entry beside no target (reported), and entries verified per second beside the target
(>= 50,000 entries/s), with the process CPU time of the verification (its database thread included).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from store.audit import record_audit, verify_workspace
from store.db import create_async_db_engine, session_factory
from store.migrate import upgrade

TARGET_VERIFY_PER_SECOND = 50_000


async def run(entries: int, per_commit: int, url: str) -> None:
    upgrade(url)
    engine = create_async_db_engine(url)
    sessions = session_factory(engine)
    ws = f"ws_bench_{uuid.uuid4().hex[:8]}"
    try:
        commits: list[float] = []
        started = time.perf_counter()
        for start in range(0, entries, per_commit):
            t0 = time.perf_counter()
            async with sessions() as session:
                for i in range(start, min(entries, start + per_commit)):
                    await record_audit(
                        session, workspace_id=ws, action="contact.update", target_type="contact",
                        target_id=f"ct_{i}", before={"first_name": "Ada", "email": "ada@example.com"},
                        after={"first_name": "Grace", "email": "grace@example.com"}, actor="system:bench",
                    )  # fmt: skip
                await session.commit()
            commits.append((time.perf_counter() - t0) * 1000)
        appended = time.perf_counter() - started
        per_entry = appended * 1000 / entries
        p50 = statistics.median(commits)
        print(f"append: {entries:,} entries, {per_commit} per transaction, {appended:.1f} s "
              f"({per_entry:.2f} ms per entry; transaction p50 {p50:.2f} ms) — reported")  # fmt: skip

        t0, cpu0 = time.perf_counter(), time.process_time()
        async with sessions() as session:
            report = await verify_workspace(session, ws)
        verified, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        if not report.ok or report.entries != entries:
            raise SystemExit(f"the chain did not verify: {report.entries} entries, problems {report.problems[:5]}")
        rate = entries / verified
        verdict = "met" if rate >= TARGET_VERIFY_PER_SECOND else "NOT met"
        print(f"verify: {entries:,} entries in {verified:.2f} s = {rate:,.0f} entries/s "
              f"(target >= {TARGET_VERIFY_PER_SECOND:,}/s: {verdict}); {cpu:.2f} s CPU = "
              f"{entries / cpu:,.0f} entries per CPU second")  # fmt: skip
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--per-commit", type=int, default=1)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    if args.database_url:
        asyncio.run(run(args.entries, args.per_commit, args.database_url))
        return
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(args.entries, args.per_commit, f"sqlite:///{Path(folder) / 'bench.db'}"))


if __name__ == "__main__":
    main()
