"""`mauntic dlq list / show / replay / discard`: the dead-letter tooling for operators.

It talks to the database directly, as `mauntic workspace create` does (and finds the data the same way:
MAUNTIC_DATABASE_URL, MAUNTIC_DATA_DIR, or the nearest `.mauntic/`): an operator on a server has database access
but holds no workspace's API key, and one command can then act across workspaces. Replays that need Temporal
(sends, journey steps) connect with the same settings as the worker (MAUNTIC_TEMPORAL_*). It runs the very
service behind /v1/dead-letters (mauntic/dead_letters/service.py), so both do the same thing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import getpass
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.dead_letters.model import DeadLetterKind, DeadLetterStatus
from mauntic.dead_letters.service import (
    DeadLetterNotFound,
    DeadLetterService,
    NotReplayable,
    Outcome,
    ReplayUnavailable,
)
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.db import create_async_db_engine, session_factory
from store.dead_letters import DeadLetterFilter
from store.models import DeadLetter

dlq_app = typer.Typer(help="Dead letters: work that exhausted its retries. Find, inspect, replay, discard.")
out = Console()
err = Console(stderr=True)
T = TypeVar("T")

Workspace = Annotated[str | None, typer.Option("--workspace", "-w", help="Only this workspace id.")]
Kind = Annotated[DeadLetterKind | None, typer.Option("--kind", "-k", help="Only this kind.")]
ErrorText = Annotated[str | None, typer.Option("--error", "-e", help="A substring of the error type or message.")]
Since = Annotated[str | None, typer.Option(help="Last failed at or after (ISO 8601; UTC when no offset).")]
Until = Annotated[str | None, typer.Option(help="Last failed before (ISO 8601; UTC when no offset).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON (one object per line for lists).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Say what would be done; change nothing.")]
MAX_ID = 2**31 - 1
Ids = Annotated[
    list[int] | None,
    typer.Argument(help="Dead-letter ids (or use the filters).", show_default=False, min=1, max=MAX_ID),
]


def _settings() -> Settings:
    from mauntic.cli import existing_data

    settings = existing_data(required=True)
    typer.echo(f"data: {'MAUNTIC_DATABASE_URL' if settings.database_url else settings.data_dir}", err=True)
    return settings


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time", param_hint=f"--{name}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _selection(
    workspace: str | None,
    kind: DeadLetterKind | None,
    error: str | None,
    since: str | None,
    until: str | None,
    status: DeadLetterStatus | None = None,
) -> DeadLetterFilter:
    """The filter the options name (times parsed, or a usage error naming the option)."""
    return DeadLetterFilter(workspace, kind, status, error, _time(since, "since"), _time(until, "until"))


def _run(settings: Settings, work: Callable[[AsyncSession, DeadLetterService], Awaitable[T]]) -> T:
    async def main() -> T:
        engine = create_async_db_engine(settings.resolved_database_url)
        try:
            async with session_factory(engine)() as session:
                return await work(session, DeadLetterService(TemporalGateway(settings)))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except (OperationalError, ProgrammingError) as exc:  # e.g. a database the migrations never ran on
        typer.echo(f"error: the database cannot be read ({exc.orig}); is it migrated? (`mauntic migrate`)", err=True)
        raise typer.Exit(1) from exc


def public(row: DeadLetter) -> dict[str, Any]:
    data = row.model_dump(mode="json")
    return {key: data[key] for key in sorted(data)}


@dlq_app.command("list")
def list_(
    workspace: Workspace = None,
    kind: Kind = None,
    status: Annotated[DeadLetterStatus | None, typer.Option(help="open, replayed or discarded.")] = None,
    error: ErrorText = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: AsJson = False,
) -> None:
    """List dead letters, newest first."""
    flt = _selection(workspace, kind, error, since, until, status)
    rows = _run(_settings(), lambda session, service: service.page(session, flt, before=None, limit=limit))
    if as_json:
        for row in rows:
            typer.echo(json.dumps(public(row)))
        return
    table = Table("id", "kind", "status", "workspace", "subject", "error", "attempts", "last failed (UTC)")
    for row in rows:
        error_text = f"{row.error_type}: {row.error}"
        table.add_row(
            str(row.id), row.kind, row.status, row.workspace_id, row.subject_id,
            error_text if len(error_text) <= 60 else error_text[:59] + "…", str(row.attempts),
            row.last_failed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        )  # fmt: skip
    out.print(table)
    err.print(
        f"{len(rows)} dead letter(s)" + (" (more: raise --limit or narrow the filters)" if len(rows) == limit else "")
    )


@dlq_app.command()
def show(dead_letter_id: Annotated[int, typer.Argument(min=1, max=MAX_ID)], as_json: AsJson = False) -> None:
    """Everything recorded about one dead letter."""

    async def get(session: AsyncSession, service: DeadLetterService) -> DeadLetter | None:
        try:
            return await service.get(session, dead_letter_id, None)
        except DeadLetterNotFound:
            return None

    row = _run(_settings(), get)
    if row is None:
        typer.echo(f"error: dead letter {dead_letter_id} not found", err=True)
        raise typer.Exit(1)
    data = public(row)
    if as_json:
        typer.echo(json.dumps(data))
        return
    for key, value in data.items():
        out.print(f"[bold]{key:>16}[/]  {json.dumps(value) if isinstance(value, dict) else value}")


def _bulk(action: str, ids: list[int] | None, flt: DeadLetterFilter, dry_run: bool) -> None:
    if not ids and not any(v is not None for v in (flt.workspace_id, flt.kind, flt.error, flt.since, flt.until)):
        typer.echo("error: give ids, or at least one of --workspace, --kind, --error, --since, --until", err=True)
        raise typer.Exit(2)
    actor = f"cli:{getpass.getuser()}"

    async def work(session: AsyncSession, service: DeadLetterService) -> list[Outcome]:
        rows = await service.select(session, dataclasses.replace(flt, ids=ids or None))
        if action == "replay":
            service.check_replayable(rows)
        label = ("would " if dry_run else "") + action
        with Progress(
            TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
        ) as progress:
            task = progress.add_task(label, total=len(rows))

            def advanced(_: Outcome) -> None:
                progress.advance(task)

            run = service.replay if action == "replay" else service.discard
            return await run(session, rows, actor=actor, dry_run=dry_run, progress=advanced)

    try:
        outcomes = _run(_settings(), work)
    except NotReplayable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(3) from exc
    except ReplayUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(4) from exc
    table = Table("id", "kind", "action", "detail")
    for outcome in outcomes:
        table.add_row(str(outcome.id), outcome.kind, outcome.action, outcome.detail)
    out.print(table)
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.action] = counts.get(outcome.action, 0) + 1
    summary = ", ".join(f"{n} {name}" for name, n in sorted(counts.items())) or "nothing open matched"
    err.print(summary)


@dlq_app.command()
def replay(
    ids: Ids = None,
    workspace: Workspace = None,
    kind: Kind = None,
    error: ErrorText = None,
    since: Since = None,
    until: Until = None,
    dry_run: DryRun = False,
) -> None:
    """Replay open dead letters, each through its kind's replayer (sends run again durably, never twice)."""
    _bulk("replay", ids, _selection(workspace, kind, error, since, until), dry_run)


@dlq_app.command()
def discard(
    ids: Ids = None,
    workspace: Workspace = None,
    kind: Kind = None,
    error: ErrorText = None,
    since: Since = None,
    until: Until = None,
    dry_run: DryRun = False,
) -> None:
    """Give up on open dead letters (a discarded outbox row is deleted)."""
    _bulk("discard", ids, _selection(workspace, kind, error, since, until), dry_run)
