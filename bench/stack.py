"""The embedded stack as `mauntic dev` runs it, in a temporary data dir on free ports, for one benchmark run.

Temporal dev server (mauntic.embedded, WAL pragmas), then `python -m mauntic worker` and `python -m mauntic api`
as child processes with `MAUNTIC_*` settings. Every child is stopped by pid and the data dir removed on exit.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import pstats
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Coroutine, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import httpx

from bench.profiled import by_package
from mauntic.embedded import port_open, start_dev_server
from mauntic.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 90.0
STOP_GRACE = 15.0


class StackError(RuntimeError):
    """The stack could not start: a port is taken, or a process exited or never became ready."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ensure_free(port: int, what: str) -> None:
    if port_open("127.0.0.1", port):
        raise StackError(f"port {port} ({what}) is taken on 127.0.0.1: stop what listens there or pick another")


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM by pid, a grace period, then SIGKILL: only ever processes this benchmark started."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Stack:
    data_dir: Path
    env: dict[str, str]
    api_url: str
    api_port: int
    temporal_target: str
    smtp_port: int
    database_url: str
    workspace_id: str = ""
    write_key: str = ""
    api_key: str = ""
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.processes.items()}

    def spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        """Start a child process (stopped with the stack); its output goes to <data_dir>/<name>.log."""
        log_path = self.data_dir / f"{name}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(args, env=self.env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = process
        self.logs[name] = log_path
        return process

    def stop_child(self, name: str) -> None:
        """Stop one child this run started (by pid) and forget it, e.g. a phase's own worker after the phase."""
        process = self.processes.pop(name, None)
        if process is not None:
            stop_process(process)

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise StackError(
                    f"{name} (pid {process.pid}) exited with {process.returncode}:\n{log_tail(self.logs[name])}"
                )

    async def wait_for_log(self, name: str, needle: str, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.logs[name].read_text(errors="replace"):
            self.check_alive()
            if time.monotonic() > deadline:
                raise StackError(f"{name} did not say {needle!r} within {timeout:.0f} s:\n{log_tail(self.logs[name])}")
            await asyncio.sleep(0.2)

    async def wait_for_api(self, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.api_url, timeout=5) as http:
            while True:
                self.check_alive()
                try:
                    if (await http.get("/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise StackError(
                        f"the API did not become healthy within {timeout:.0f} s:\n{log_tail(self.logs['api'])}"
                    )
                await asyncio.sleep(0.3)

    def stop(self) -> None:
        # Clients of Temporal first (they drain), the server last.
        for name in reversed(list(self.processes)):
            stop_process(self.processes[name])


def print_profiles(data_dir: Path, top: int = 25) -> None:
    for path in sorted(data_dir.glob("*.prof")):
        packages = by_package(path)
        total = sum(seconds for _, seconds in packages) or 1.0
        print(f"--- {path.stem}: event-loop thread CPU by package ({total:.1f} s) ---")
        for package, seconds in packages[:15]:
            print(f"  {package:<28} {seconds:7.2f} s  {100 * seconds / total:5.1f}%")
        out = io.StringIO()
        pstats.Stats(str(path), stream=out).sort_stats("tottime").print_stats(top)
        text = out.getvalue()
        print(f"--- {path.stem}: top {top} functions by own CPU time ---")
        print(text[max(text.find("ncalls"), 0) :])


def _base_env() -> dict[str, str]:
    """The caller's environment without any MAUNTIC_* setting, so nothing from outside leaks into the run."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MAUNTIC_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _create_workspace(stack: Stack) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mauntic", "workspace", "create", "bench", "--json"],
        env=stack.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise StackError(f"`mauntic workspace create` failed ({done.returncode}):\n{done.stderr[-3000:]}")
    created = json.loads(done.stdout.strip().splitlines()[-1])
    stack.workspace_id, stack.write_key, stack.api_key = created["id"], created["write_key"], created["api_key"]


@asynccontextmanager
async def embedded_stack(
    smtp_port: int,
    database_url: str = "",
    *,
    keep: bool = False,
    label: str = "stack",
    profile: Iterable[str] = (),
    settings_env: dict[str, str] | None = None,
    ports: tuple[int, int, int] | None = None,
) -> AsyncIterator[Stack]:
    """Temporal dev server + migrated database + workspace + worker + API, all on loopback.

    `settings_env` adds MAUNTIC_* settings for every child (e.g. worker concurrency). `profile` names the
    children ("worker", "api") to run under bench.profiled; their costliest functions are printed when they stop
    (the profiler slows them down, so figures from such a run are not comparable). `ports`: Temporal's, its
    UI's and the API's, instead of free ones."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"mauntic-bench-{label}-"))
    temporal_port, ui_port, api_port = ports or (free_port(), free_port(), free_port())
    for port, what in ((temporal_port, "Temporal"), (ui_port, "Temporal UI"), (api_port, "API")):
        ensure_free(port, what)
    env = _base_env() | {
        "MAUNTIC_DATA_DIR": str(data_dir),
        "MAUNTIC_TEMPORAL_PORT": str(temporal_port),
        "MAUNTIC_TEMPORAL_UI_PORT": str(ui_port),
        "MAUNTIC_API_HOST": "127.0.0.1",
        "MAUNTIC_API_PORT": str(api_port),
        "MAUNTIC_SMTP_HOST": "127.0.0.1",
        "MAUNTIC_SMTP_PORT": str(smtp_port),
        "MAUNTIC_TEMPORAL_TASK_QUEUE": "mauntic",
        "MAUNTIC_EMAIL_FROM": "Bench <bench@example.test>",
    }
    if database_url:
        env["MAUNTIC_DATABASE_URL"] = database_url
    env |= settings_env or {}
    settings = Settings(data_dir=data_dir, temporal_port=temporal_port, temporal_ui_port=ui_port)
    stack = Stack(
        data_dir=data_dir,
        env=env,
        api_url=f"http://127.0.0.1:{api_port}",
        api_port=api_port,
        temporal_target=f"127.0.0.1:{temporal_port}",
        smtp_port=smtp_port,
        database_url=database_url or settings.resolved_database_url,
    )
    try:
        try:
            # Blocking on purpose (a few seconds, before anything is measured): a thread could outlive a Ctrl-C
            # and leave the server running.
            temporal = start_dev_server(settings)
        except RuntimeError as exc:
            raise StackError(f"{exc}\n{log_tail(data_dir / 'temporal.log')}") from exc
        stack.processes["temporal"] = temporal
        stack.logs["temporal"] = data_dir / "temporal.log"
        await asyncio.to_thread(_create_workspace, stack)  # also applies the migrations
        profiled = set(profile)
        for role in ("worker", "api"):
            runner = ["-m", "bench.profiled", str(data_dir / f"{role}.prof")] if role in profiled else ["-m"]
            stack.spawn(role, [sys.executable, *runner, "mauntic", role])
        await stack.wait_for_log("worker", "worker polling task queue")
        await stack.wait_for_api()
        yield stack
    finally:
        stack.stop()
        if profile:
            print_profiles(data_dir)
        if keep:
            print(f"(kept {data_dir})")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


async def publish_journey(stack: Stack, name: str, definition: dict[str, object]) -> str:
    """Create a journey through the REST API and publish it; returns its id."""
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    async with httpx.AsyncClient(base_url=stack.api_url, headers=headers, timeout=30) as http:
        created = await http.post("/v1/journeys", json={"name": name, "definition": definition})
        if created.status_code != 201:
            raise StackError(f"creating the journey failed: {created.status_code} {created.text[:500]}")
        journey_id: str = created.json()["id"]
        published = await http.post(f"/v1/journeys/{journey_id}/publish")
        if published.status_code != 200:
            raise StackError(f"publishing the journey failed: {published.status_code} {published.text[:500]}")
    return journey_id


def run_main(main: Coroutine[Any, Any, int], errors: tuple[type[BaseException], ...]) -> NoReturn:
    """Run a benchmark's main coroutine and exit with its code. SIGINT and SIGTERM cancel it, so every `finally`
    runs and each process it started is stopped; the `errors` it may raise are printed without a traceback."""

    async def cancellable() -> int:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        return await main

    try:
        code = asyncio.run(cancellable())
    except asyncio.CancelledError:
        print("interrupted: the processes this run started were stopped", file=sys.stderr)
        code = 130
    except errors as exc:
        print(f"error: {exc or type(exc).__name__}", file=sys.stderr)
        code = 1
    sys.exit(code)
