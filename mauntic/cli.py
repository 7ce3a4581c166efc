"""The `mauntic` command: dev (the whole embedded stack), api, worker, dispatcher, migrate, workspace create,
dlq (dead letters: mauntic/dlq_cli.py), audit verify (mauntic/audit_cli.py), import (CSV files:
mauntic/import_cli.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from mauntic import data_dir
from mauntic.audit_cli import audit_app
from mauntic.dlq_cli import dlq_app
from mauntic.embedded import port_open, start_dev_server
from mauntic.import_cli import import_file
from mauntic.settings import Settings, get_settings
from store.db import create_async_db_engine, session_factory
from store.migrate import upgrade
from store.workspaces import NewWorkspace, create_workspace

app = typer.Typer(help="mauntic: marketing automation on Temporal.", no_args_is_help=True)
workspace_app = typer.Typer(help="Workspaces (tenants).", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")
app.add_typer(dlq_app, name="dlq")
app.add_typer(audit_app, name="audit")
app.command("import")(import_file)
console = Console(stderr=True)


def existing_data(*, required: bool) -> Settings:
    """Point this process (and the children it starts) at the stack's data, wherever the command is run from.

    When nothing is configured and no data can be found, a command that must not start a new, empty database
    (`required`) says where it looked and exits. A configured MAUNTIC_DATA_DIR or MAUNTIC_DATABASE_URL is taken
    as meant (a script may create its workspace first; the migrations run either way), and the path is printed."""
    if not data_dir.explicitly_configured():
        try:
            data_dir.export(data_dir.for_command(Path.cwd()))
        except data_dir.NoDataDir as exc:
            if required:
                typer.echo(f"error: {exc}", err=True)  # plain: rich would wrap the paths
                raise typer.Exit(1) from exc
        get_settings.cache_clear()
    return get_settings()


def _data_label(settings: Settings) -> str:
    return "MAUNTIC_DATABASE_URL" if settings.database_url else str(settings.data_dir)


@app.command()
def migrate() -> None:
    """Apply the database migrations (Alembic) up to the newest."""
    settings = existing_data(required=False)
    upgrade(settings.resolved_database_url)
    console.print(f"[green]database migrated[/] ({settings.resolved_database_url.split('@')[-1]})")


@app.command()
def api() -> None:
    """Serve the REST API (uvicorn)."""
    settings = existing_data(required=False)
    uvicorn.run("api.main:app", host=settings.api_host, port=settings.api_port, log_level="warning")


@app.command()
def worker() -> None:
    """Run a Temporal worker (workflows and activities) on the configured task queue."""
    import worker as worker_module

    existing_data(required=False)
    worker_module.main()


@app.command()
def dispatcher() -> None:
    """Run a journey dispatcher alone (workers run one each unless MAUNTIC_DISPATCHER=false)."""
    import logging

    from dispatch.runner import serve

    settings = existing_data(required=False)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve(settings))


@workspace_app.command("create")
def workspace_create(
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (id, write_key, api_key).")] = False,
) -> None:
    """Create a workspace; prints its id, ingestion write key and an admin API key (shown once)."""

    async def create() -> NewWorkspace:
        engine = create_async_db_engine(get_settings().resolved_database_url)
        try:
            async with session_factory(engine)() as session:
                return await create_workspace(session, name)
        finally:
            await engine.dispose()

    settings = existing_data(required=True)
    typer.echo(f"data: {_data_label(settings)}", err=True)
    upgrade(settings.resolved_database_url)
    created = asyncio.run(create())
    payload = {
        "id": created.workspace.id,
        "name": created.workspace.name,
        "write_key": created.write_key,
        "api_key": created.api_key,
    }
    if as_json:
        typer.echo(json.dumps(payload))
    else:
        for key, value in payload.items():
            typer.echo(f"{key}: {value}")
        console.print("[yellow]The keys are shown once; only their hashes are stored.[/]")


def _child(command: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "mauntic", command], env=os.environ.copy())


@app.command()
def dev() -> None:
    """The whole engine on this machine: embedded Temporal, migrations, worker and API. Ctrl-C stops it."""
    if not data_dir.explicitly_configured():
        data_dir.export(data_dir.for_dev(Path.cwd()))
        get_settings.cache_clear()
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.record(settings.data_dir)
    settings.resolved_secret_key()  # created once here, before the API and the worker both read it
    upgrade(settings.resolved_database_url)
    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        if settings.embedded_temporal:
            children.append(start_dev_server(settings))
        children.append(_child("worker"))
        children.append(_child("api"))
        _announce(settings)
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.3)
    finally:
        _stop_all(children)


def _announce(settings: Settings) -> None:
    host, port, ui_port = settings.api_host, settings.api_port, settings.temporal_ui_port
    deadline = time.monotonic() + 30
    while not port_open(host, port) and time.monotonic() < deadline:
        time.sleep(0.2)
    console.print(
        f"[bold green]mauntic is running[/]\n  API       http://{host}:{port}\n  API docs  http://{host}:{port}/docs"
    )
    if settings.embedded_temporal:
        console.print(f"  Temporal  http://127.0.0.1:{ui_port}  (Web UI)")
    console.print(f"  Data      {_data_label(settings)}")
    console.print("Ctrl-C stops everything.")


def _stop_all(children: list[subprocess.Popen[bytes]]) -> None:
    """Stop the API and worker first (they drain), then Temporal; each gets a grace period."""
    for child in reversed(children):
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
