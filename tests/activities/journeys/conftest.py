"""The journey step activities on the real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.ids import new_id
from store.db import create_async_db_engine, session_factory
from store.models import Contact
from store.workspaces import NewWorkspace


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_db_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


async def add_contact(sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace, **fields: Any) -> Contact:
    contact = Contact(id=new_id("ct"), workspace_id=workspace.workspace.id, email="ada@example.test", **fields)
    async with sessions() as session:
        session.add(contact)
        await session.commit()
    return contact
