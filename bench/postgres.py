"""A throwaway PostgreSQL database on the local server (127.0.0.1:5432, user postgres, trust auth)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

SERVER = "postgresql://postgres@127.0.0.1:5432"


def reachable(server: str = SERVER) -> bool:
    try:
        with psycopg.connect(f"{server}/postgres", connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


@contextmanager
def throwaway_database(server: str = SERVER, prefix: str = "mauntic_bench_") -> Iterator[str]:
    """Create `<prefix><random>` (`mauntic_bench_...`), yield its URL, drop it (even with connections left) at the
    end."""
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
