"""The dispatcher's side of waking (see store/outbox_wake.py for the writers' side), and SQLite's single owner.

`Wakeup.wait(timeout)` returns as soon as something woke it, or after the timeout (the poll). Messages that name
a changed workspace are handed to `on_workspace_changed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable

import psycopg
from sqlalchemy.engine import make_url

from store.outbox import CHANNEL
from store.outbox_wake import CHANGED_PREFIX, owner_lock_path, wake_socket_path

log = logging.getLogger(__name__)
_LISTEN_RETRY_SECONDS = 2.0


class Wakeup:
    def __init__(self, on_workspace_changed: Callable[[str], None]) -> None:
        self._event = asyncio.Event()
        self._on_workspace_changed = on_workspace_changed

    def set(self) -> None:
        self._event.set()

    def message(self, payload: str) -> None:
        if payload.startswith(CHANGED_PREFIX):
            self._on_workspace_changed(payload.removeprefix(CHANGED_PREFIX))
        self._event.set()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
        self._event.clear()


@contextlib.asynccontextmanager
async def sqlite_owner(database_url: str, wakeup: Wakeup, standby_seconds: float = 2.0) -> AsyncIterator[None]:
    """Wait until this process owns the SQLite database's outbox (an exclusive flock, released by the kernel
    when the process dies, however it dies), then listen on its wake socket until the block ends."""
    lock_path, socket_path = owner_lock_path(database_url), wake_socket_path(database_url)
    if lock_path is None or socket_path is None:  # an in-memory database: nobody else can see it
        yield
        return
    handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not announced:
                    log.info("dispatcher: another process owns this database's outbox; standing by")
                    announced = True
                await asyncio.sleep(standby_seconds)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(socket_path)  # left by an owner that died; we hold the lock, so it is nobody's now
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        listener.setblocking(False)
        listener.bind(socket_path)
        loop = asyncio.get_running_loop()

        def readable() -> None:
            while True:
                try:
                    data = listener.recv(512)
                except (BlockingIOError, InterruptedError):
                    return
                wakeup.message(data.decode("utf-8", "replace"))

        loop.add_reader(listener.fileno(), readable)
        try:
            yield
        finally:
            loop.remove_reader(listener.fileno())
            listener.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(socket_path)
    finally:
        os.close(handle)  # releases the lock


@contextlib.asynccontextmanager
async def postgres_listener(database_url: str, wakeup: Wakeup) -> AsyncIterator[None]:
    """LISTEN on the outbox channel from a dedicated connection, reconnecting after a failure."""
    conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def listen() -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    wakeup.set()  # rows may have come while we were not listening
                    async for notify in conn.notifies():
                        wakeup.message(notify.payload)
            except (psycopg.Error, OSError) as exc:
                log.warning("dispatcher: listening for outbox notifications failed (%r); polling meanwhile", exc)
                await asyncio.sleep(_LISTEN_RETRY_SECONDS)

    task = asyncio.create_task(listen(), name="dispatch-listen")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
