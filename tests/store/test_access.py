"""The access queries under concurrency: counting the owners locks their memberships until commit (PostgreSQL),
so two demotions of the last two owners cannot both see a second owner."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.access import count_owners
from store.models import Membership, User
from store.workspaces import NewWorkspace

OWNER = "owner"


async def _owners(db: async_sessionmaker[AsyncSession], workspace_id: str) -> list[str]:
    ids = [f"u_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    async with db() as session:
        for user_id in ids:
            session.add(User(id=user_id, email=f"{user_id}@example.test", name=user_id))
            await session.flush()
            session.add(Membership(workspace_id=workspace_id, user_id=user_id, role=OWNER))
        await session.commit()
    return ids


async def test_a_second_owner_count_waits_for_the_first_demotion(
    db: async_sessionmaker[AsyncSession], workspace: NewWorkspace, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL (SQLite runs one writer at a time)")
    first_id, _ = await _owners(db, workspace.workspace.id)
    async with db() as first, db() as second:
        assert await count_owners(first, workspace.workspace.id, OWNER) == 2
        membership = await first.get(Membership, (workspace.workspace.id, first_id))
        assert membership is not None
        membership.role = "admin"
        await first.flush()
        waiting = asyncio.create_task(count_owners(second, workspace.workspace.id, OWNER))
        await asyncio.sleep(0.5)
        assert not waiting.done(), "the second count read the owners while the first demotion held them"
        await first.commit()
        assert await asyncio.wait_for(waiting, 10) == 1
