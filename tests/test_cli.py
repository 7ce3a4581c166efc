from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from domain.access.keys import digest
from mauntic import data_dir


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


def _cli(args: list[str], cwd: Path, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MAUNTIC_")}
    clean.update({"HOME": str(home), "XDG_STATE_HOME": str(home / "state"), **env})
    return subprocess.run(
        [sys.executable, "-m", "mauntic", *args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=60
    )


def _workspaces(database: Path) -> list[str]:
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        names = [row[0] for row in conn.execute(text("SELECT name FROM workspace"))]
    engine.dispose()
    return names


def test_workspace_create_finds_the_project_data_from_a_subdirectory(tmp_path: Path) -> None:
    project, home = tmp_path / "project", tmp_path / "home"
    (project / "docs" / "deep").mkdir(parents=True)
    assert _cli(["migrate"], project, home).returncode == 0  # what `make run` leaves: ./.mauntic/mauntic.db
    result = _cli(["workspace", "create", "Acme", "--json"], project / "docs" / "deep", home)
    assert result.returncode == 0, result.stderr
    assert _workspaces(project / ".mauntic" / "mauntic.db") == ["Acme"]
    assert not (project / "docs" / "deep" / ".mauntic").exists()  # no second, empty database


def test_workspace_create_finds_the_data_the_last_dev_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From a directory outside the project, the data dir `mauntic dev` recorded is used."""
    project, home, elsewhere = tmp_path / "project", tmp_path / "home", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    assert _cli(["migrate"], project, home).returncode == 0
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    data_dir.record(project / ".mauntic")  # what `mauntic dev` writes at start
    result = _cli(["workspace", "create", "Beta", "--json"], elsewhere, home)
    assert result.returncode == 0, result.stderr
    assert _workspaces(project / ".mauntic" / "mauntic.db") == ["Beta"]
    assert not (elsewhere / ".mauntic").exists()


def test_workspace_create_with_no_data_anywhere_says_how_to_point_at_it(tmp_path: Path) -> None:
    empty, home = tmp_path / "empty", tmp_path / "home"
    empty.mkdir()
    result = _cli(["workspace", "create", "Lost", "--json"], empty, home)
    assert result.returncode == 1
    assert result.stdout == ""  # no keys printed for a database nobody runs
    assert "no mauntic data found" in result.stderr
    assert "MAUNTIC_DATA_DIR" in result.stderr
    assert not (empty / ".mauntic").exists()
    # A configured data dir is taken as meant (a script may create its workspace before starting the stack), and
    # the command says which one it used.
    chosen = tmp_path / "chosen"
    result = _cli(["workspace", "create", "Meant", "--json"], empty, home, MAUNTIC_DATA_DIR=str(chosen))
    assert result.returncode == 0, result.stderr
    assert f"data: {chosen}" in result.stderr
    assert _workspaces(chosen / "mauntic.db") == ["Meant"]
