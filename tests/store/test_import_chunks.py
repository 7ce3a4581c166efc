"""An import interrupted after a committed chunk (as a killed worker leaves it) resumes from the checkpoint:
every row applied exactly once, the counts those of an uninterrupted run (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from store.db import create_async_db_engine, create_sync_db_engine, session_factory
from store.import_chunks import ImportRun, Progress
from store.models import Contact
from store.workspaces import NewWorkspace

ROWS = 1000


class Killed(Exception):
    pass


async def test_resume_applies_no_row_twice(
    client: httpx.AsyncClient, admin_headers: dict[str, str], database_url: str, workspace: NewWorkspace
) -> None:
    lines = ["email,external_id,n"] + [f"u{i % 900}@example.com,,{i}" for i in range(ROWS)]
    started = await client.post(
        "/v1/imports",
        content=("\n".join(lines) + "\n").encode(),
        headers={**admin_headers, "Content-Type": "text/csv", "Import-Mapping": '{"email":"email","n":"attributes.n"}'},
    )
    assert started.status_code == 202, started.text
    engine = create_sync_db_engine(database_url)
    seen: list[Progress] = []

    def kill_after_three(progress: Progress) -> None:
        seen.append(progress)
        if len(seen) == 3:
            raise Killed

    run = ImportRun(engine, started.json()["id"], chunk_rows=100)
    with pytest.raises(Killed):
        await asyncio.to_thread(run.run, kill_after_three)
    assert seen[-1].rows_done == 300
    final = await asyncio.to_thread(run.run, lambda _: None)
    engine.dispose()
    assert (final.status, final.rows_done, final.failed) == ("completed", ROWS, 0)
    assert (final.imported, final.updated) == (900, 100)
    async_engine = create_async_db_engine(database_url)
    async with session_factory(async_engine)() as session:
        count = await session.scalar(select(func.count()).where(col(Contact.workspace_id) == workspace.workspace.id))
        last = (
            await session.execute(
                select(Contact).where(
                    col(Contact.workspace_id) == workspace.workspace.id, col(Contact.email) == "u5@example.com"
                )
            )
        ).scalar_one()
    await async_engine.dispose()
    assert count == 900
    assert last.attributes == {"n": "905"}  # the later duplicate wins
