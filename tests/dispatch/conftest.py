"""The dispatcher tests' database: a session factory over an emptied outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.db import create_async_db_engine, session_factory
from tests.outbox_rows import discard_outbox


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await discard_outbox(database_url)
    engine = create_async_db_engine(database_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()
        await discard_outbox(database_url)
