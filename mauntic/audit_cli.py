"""`mauntic audit verify [--workspace ID]`: walk each workspace's audit hash chain and name every modified,
deleted or reordered entry. Exit 1 when any chain fails, so a cron job or a CI step can alarm on it."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import typer
from rich.console import Console

from domain.audit.chain import Report
from mauntic.settings import get_settings
from store.audit import verify_workspace, workspaces_with_audit
from store.db import create_async_db_engine, session_factory

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
console = Console()


async def _verify(workspace: str | None) -> dict[str, Report]:
    engine = create_async_db_engine(get_settings().resolved_database_url)
    try:
        async with session_factory(engine)() as session:
            workspaces = [workspace] if workspace else await workspaces_with_audit(session)
            reports = {}
            with console.status("verifying") as status:
                for ws in workspaces:
                    status.update(f"verifying {ws}")
                    reports[ws] = await verify_workspace(session, ws)
            return reports
    finally:
        await engine.dispose()


@audit_app.command("verify")
def verify(
    workspace: Annotated[str | None, typer.Option("--workspace", help="One workspace's chain (default: all).")] = None,
) -> None:
    """Verify the audit chains: each entry's hash, its link to the previous one, and the chain head."""
    started = time.perf_counter()
    reports = asyncio.run(_verify(workspace))
    elapsed = time.perf_counter() - started
    failed = 0
    for ws, report in reports.items():
        if report.ok:
            console.print(f"[green]ok[/] {ws}: {report.entries} entries, head {report.head_seq}")
            continue
        failed += 1
        console.print(f"[red]TAMPERED[/] {ws}: {report.entries} entries, head {report.head_seq}")
        for problem in report.problems:
            console.print(f"  seq {problem.seq}: {problem.kind} ({problem.detail})")
    total = sum(r.entries for r in reports.values())
    rate = total / elapsed if elapsed > 0 else 0.0
    console.print(f"{len(reports)} chains, {total} entries in {elapsed:.2f} s ({rate:,.0f} entries/s)")
    if failed:
        raise typer.Exit(1)
