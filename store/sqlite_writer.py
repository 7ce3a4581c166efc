"""A single writer thread for SQLite: whole units of work, in order, with checkpoints kept off the commit path.

Why one thread: through aiosqlite every DBAPI call is a round trip to its thread (dozens per request), and
concurrent SQLite writers wait for the database lock by polling with sleeps of up to 100 ms. One thread running
each request's whole synchronous unit of work costs one hop and feeds SQLite's single writer in order.

Why the checkpoint dance: by default SQLite checkpoints the WAL inside whichever commit crosses 1000 pages; that
fsyncs and stalls every request queued behind it. The writer's connection turns that off. A background thread
copies the WAL into the database every second without blocking anyone (PASSIVE). Under steady writes such a
checkpoint never catches up with the last commit, so the WAL would never start over and would grow without
end; once it is large and fully copied, the writer itself restarts it between two units (RESTART), which then
only has the last few frames left to copy (measured: 2-3 ms, against 10-150 ms stalls before).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from store.db import create_sync_db_engine

log = logging.getLogger(__name__)

T = TypeVar("T")
CHECKPOINT_SECONDS = 1.0
RESTART_ABOVE_FRAMES = 4000  # ~16 MB of WAL with 4 KB pages
BUSY_TIMEOUT_MS = 10_000  # as store.db sets it


class SqliteWriter:
    def __init__(self, database_url: str, checkpoint_every: float = CHECKPOINT_SECONDS) -> None:
        self._engine = create_sync_db_engine(database_url)
        event.listen(self._engine, "connect", _no_commit_time_checkpoints)
        self._path = self._engine.url.database or ""
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._stop = threading.Event()
        if self._path and self._path != ":memory:":
            threading.Thread(
                target=self._checkpoint_loop, args=(checkpoint_every,), name="sqlite-checkpoint", daemon=True
            ).start()

    async def run(self, unit: Callable[[Session], T]) -> T:
        """Run `unit` in its own transaction on the writer thread, and commit."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._unit, unit)

    def _unit(self, unit: Callable[[Session], T]) -> T:
        with Session(self._engine, expire_on_commit=False) as session:
            result = unit(session)
            session.commit()
            return result

    def _checkpoint_loop(self, every: float) -> None:
        connection = sqlite3.connect(self._path, timeout=0, isolation_level=None)
        try:
            while not self._stop.wait(every):
                try:
                    _, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:  # busy: next time
                    log.debug("sqlite checkpoint skipped: %r", exc)
                    continue
                if frames > RESTART_ABOVE_FRAMES and copied == frames:
                    try:
                        self._thread.submit(self._restart_wal)
                    except RuntimeError:  # closed meanwhile
                        return
        finally:
            connection.close()

    def _restart_wal(self) -> None:
        """On the writer thread, between units; never waits for a lock (busy: try again after the next pass)."""
        with self._engine.connect() as connection:
            driver = connection.connection.dbapi_connection
            assert driver is not None
            driver.execute("PRAGMA busy_timeout=0")
            try:
                driver.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            except sqlite3.Error as exc:
                log.debug("sqlite WAL restart skipped: %r", exc)
            finally:
                driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    def close(self) -> None:
        """Stop; dispose of the engine in the thread that owns its connection. Never blocks (may run in GC)."""
        self._stop.set()
        try:
            self._thread.submit(self._engine.dispose)
        except RuntimeError:  # interpreter exit: the executor is already shut down
            self._engine.dispose()
        self._thread.shutdown(wait=False)


def _no_commit_time_checkpoints(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()
