"""Waking the dispatcher when the outbox gains rows or journeys change, instead of leaving it to its poll.

PostgreSQL: `NOTIFY mauntic_dispatch` in the storing transaction (store/outbox.py), delivered on commit to every
listening dispatcher, on any host. A payload `journeys:<workspace>` says a journey was published or archived.

SQLite: the database is one file on one machine, and one dispatcher owns its outbox (an exclusive `flock` on
`owner_lock_path`). It listens on a Unix datagram socket whose path is derived from the database file; writers
send it one datagram after they commit. A datagram costs microseconds and never blocks: when no dispatcher
listens (or its queue is full), the send fails silently and the dispatcher's poll finds the rows.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import tempfile
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from store.db import is_sqlite
from store.outbox import CHANNEL

log = logging.getLogger(__name__)

WAKE = b"wake"
CHANGED_PREFIX = "changed:"


def _sqlite_key(database_url: str) -> str | None:
    url = make_url(database_url)
    if not is_sqlite(database_url) or not url.database or url.database == ":memory:":
        return None
    return hashlib.sha256(str(Path(url.database).resolve()).encode()).hexdigest()[:16]


def wake_socket_path(database_url: str) -> str | None:
    """Where the owner of a SQLite database's outbox listens (short: Unix socket paths are limited to 108 bytes)."""
    key = _sqlite_key(database_url)
    return os.path.join(tempfile.gettempdir(), f"mauntic-dispatch-{key}.sock") if key else None


def owner_lock_path(database_url: str) -> str | None:
    key = _sqlite_key(database_url)
    return os.path.join(tempfile.gettempdir(), f"mauntic-dispatch-{key}.lock") if key else None


class DispatchWaker:
    """The writers' side: built once per process (the API's context)."""

    def __init__(self, database_url: str) -> None:
        self._path = wake_socket_path(database_url)
        self._postgres = not is_sqlite(database_url)
        self._socket: socket.socket | None = None
        if self._path is not None:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._socket.setblocking(False)

    def wake(self) -> None:
        """After a commit that added outbox rows (SQLite; PostgreSQL's NOTIFY was part of the transaction)."""
        self._send(WAKE)

    async def workspace_changed(self, session: AsyncSession, workspace_id: str) -> None:
        """After something dispatchers cache about the workspace changed (and was committed): a journey published
        or archived, a segment or scoring rule saved, a webhook subscription. Dispatchers drop their copies."""
        if self._postgres:
            await session.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {
                    "channel": CHANNEL,
                    "payload": CHANGED_PREFIX + workspace_id,
                },
            )
            await session.commit()
        self._send((CHANGED_PREFIX + workspace_id).encode())

    def _send(self, message: bytes) -> None:
        if self._socket is None or self._path is None:
            return
        try:
            self._socket.sendto(message, self._path)
        except OSError:  # nobody listens (no dispatcher yet), or its queue is full: its poll will see the rows
            pass

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
