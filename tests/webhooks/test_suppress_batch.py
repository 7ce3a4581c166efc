"""Suppressing a webhook's batch of bounces: one INSERT round trip, the new entries counted exactly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import create_async_db_engine, session_factory
from store.suppressions import NewSuppression, suppress
from store.workspaces import NewWorkspace
from tests.webhooks.rows import suppressions


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_db_engine(database_url)
    yield engine
    await engine.dispose()


def bounces(start: int, stop: int) -> list[NewSuppression]:
    return [NewSuppression("email", f"User{i}@Example.com", "hard_bounce", "test") for i in range(start, stop)]


async def test_a_batch_is_one_insert_and_counts_only_new_entries(engine: AsyncEngine, workspace: NewWorkspace) -> None:
    inserts: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            inserts.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    db = session_factory(engine)
    workspace_id = workspace.workspace.id
    async with db() as session:
        assert await suppress(session, workspace_id, bounces(0, 100)) == 100
        await session.commit()
    assert len(inserts) == 1
    # Overlapping the stored entries, and repeating one address within the batch (in another case).
    batch = [*bounces(90, 110), NewSuppression("email", "user105@example.com", "complaint")]
    async with db() as session:
        assert await suppress(session, workspace_id, batch) == 10
        await session.commit()
    assert len(inserts) == 2
    stored = await suppressions(db, workspace_id)
    assert len(stored) == 110
    assert ("email", "user105@example.com", "hard_bounce") in stored  # the first reason is kept
    async with db() as session:
        assert await suppress(session, workspace_id, []) == 0
    assert len(inserts) == 2
