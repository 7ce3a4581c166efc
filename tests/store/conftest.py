"""Fixtures of the store tests: a session factory on the test database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.db import create_async_db_engine, session_factory


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_db_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()
