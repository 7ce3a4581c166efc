from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from domain.access.keys import digest


def test_workspace_create_prints_keys_once_and_stores_only_hashes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "MAUNTIC_DATABASE_URL": url, "MAUNTIC_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "mauntic", "workspace", "create", "Acme", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    created = json.loads(result.stdout)
    assert set(created) == {"id", "name", "write_key", "api_key"}
    assert created["name"] == "Acme"
    engine = create_engine(url)
    with engine.connect() as conn:
        api_hash = conn.execute(text("SELECT key_hash FROM api_key WHERE workspace_id = :w"), {"w": created["id"]})
        write_hash = conn.execute(text("SELECT key_hash FROM write_key WHERE workspace_id = :w"), {"w": created["id"]})
        assert api_hash.scalar_one() == digest(created["api_key"])
        assert write_hash.scalar_one() == digest(created["write_key"])
        dump = "\n".join(conn.connection.iterdump())
    engine.dispose()
    assert created["api_key"] not in dump
    assert created["write_key"] not in dump
