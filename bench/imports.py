"""CSV import rate: `python -m bench.imports [ROWS]` (default 1,000,000) on a fresh SQLite database.

Generates a CSV (email, external id, first and last name, two attributes; 2% of the rows repeat an earlier email,
0.5% carry a bad email), stores it as the API's upload does (1 MiB parts in the database), then runs the import
activity's code directly (store/import_chunks.py ImportRun, the chunk runner a worker runs; no HTTP upload or
Temporal round trip, which add a constant, not a per-row cost). Prints rows/s beside the target and CPU per 1k rows.
"""

from __future__ import annotations

import asyncio
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from store.db import create_async_db_engine, create_sync_db_engine, session_factory
from store.import_chunks import ImportRun
from store.migrate import upgrade
from store.workspaces import create_workspace

TARGET = 20_000
PART = 1024 * 1024


def _csv(rows: int) -> bytes:
    rng = random.Random(7)
    lines = ["Email,Id,First,Last,Plan,Score"]
    for i in range(rows):
        n = rng.randrange(i) if i and rng.random() < 0.02 else i
        email = f"user{n}@example.com" if rng.random() > 0.005 else f"bad{n}@"
        lines.append(f"{email},u{n},First{n},Last{n},{rng.choice(('free', 'pro'))},{rng.randrange(100)}")
    return ("\n".join(lines) + "\n").encode()


async def _workspace(url: str) -> str:
    engine = create_async_db_engine(url)
    async with session_factory(engine)() as session:
        made = await create_workspace(session, "bench")
    await engine.dispose()
    return made.workspace.id


def main(rows: int) -> None:
    directory = tempfile.mkdtemp(prefix="bench-imports-")
    url = f"sqlite:///{Path(directory) / 'bench.db'}"
    upgrade(url)
    ws = asyncio.run(_workspace(url))
    data = _csv(rows)
    header_end = data.index(b"\n") + 1
    engine = create_sync_db_engine(url)
    mapping = '{"Email":"email","Id":"external_id","First":"first_name","Last":"last_name",' \
        '"Plan":"attributes.plan","Score":"attributes.score"}'  # fmt: skip
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO contact_import (id, workspace_id, status, mapping, columns, part_bytes, size_bytes, "
                 "data_offset, cursor_offset, cursor_row, rows_done, imported, updated, failed, created_at) VALUES "
                 "('im_bench', :ws, 'queued', :mapping, :columns, :part, :size, :off, :off, 0, 0, 0, 0, 0, "
                 "CURRENT_TIMESTAMP)"),
            {"ws": ws, "mapping": mapping, "columns": '["Email","Id","First","Last","Plan","Score"]', "part": PART,
             "size": len(data), "off": header_end},
        )  # fmt: skip
        connection.execute(
            text("INSERT INTO contact_import_part (import_id, seq, data) VALUES ('im_bench', :seq, :data)"),
            [{"seq": i, "data": data[o : o + PART]} for i, o in enumerate(range(0, len(data), PART))],
        )
    cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    result = ImportRun(engine, "im_bench", chunk_rows=20_000).run(lambda _: None)
    wall = time.perf_counter() - wall0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    rate = rows / wall
    print(f"rows {rows}: {result}")
    print(f"import rate  {rate:,.0f} rows/s   target >= {TARGET:,} rows/s   {'OK' if rate >= TARGET else 'MISSED'}")
    print(f"cpu          {cpu / rows * 1000 * 1000:.1f} ms per 1k rows   wall {wall:.1f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
