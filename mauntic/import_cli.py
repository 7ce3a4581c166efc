"""`mauntic import FILE --mapping JSON [--api URL --key KEY]`: uploads the file to POST /v1/imports (streamed
from disk) and follows the import's progress with a rich progress bar until it completes or fails."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

console = Console(stderr=True)


def _file(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            yield block


def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    mapping: Annotated[str, typer.Option(help='JSON: column -> target, e.g. {"Email":"email"}')],
    api: Annotated[str, typer.Option(envvar="MAUNTIC_API_URL")] = "http://127.0.0.1:8000",
    key: Annotated[str, typer.Option(envvar="MAUNTIC_API_KEY")] = "",
    poll: Annotated[float, typer.Option(help="seconds between progress polls")] = 0.5,
) -> None:
    """Import contacts from a CSV file and show its progress."""
    lines = sum(block.count(b"\n") for block in _file(file)) - 1
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "text/csv", "Import-Mapping": mapping}
    with httpx.Client(base_url=api, timeout=httpx.Timeout(60.0)) as http:
        answer = http.post("/v1/imports", params={"filename": file.name[:255]}, headers=headers, content=_file(file))
        if answer.status_code != 202:
            console.print(f"[red]refused ({answer.status_code}):[/red] {answer.text}")
            raise typer.Exit(1)
        import_id = answer.json()["id"]
        columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} rows")]
        with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
            task = progress.add_task(f"import {import_id}", total=max(lines, 1))
            while True:
                state = http.get(f"/v1/imports/{import_id}", headers={"Authorization": f"Bearer {key}"}).json()
                progress.update(task, completed=state["rows_done"])
                if state["status"] in ("completed", "failed"):
                    break
                time.sleep(poll)
    console.print(
        f"{state['status']}: {state['imported']} imported, {state['updated']} updated, {state['failed']} failed"
        + (f" (errors: {api}/v1/imports/{import_id}/errors)" if state["failed"] else "")
        + (f" - {state['error']}" if state.get("error") else "")
    )
    raise typer.Exit(0 if state["status"] == "completed" else 1)
