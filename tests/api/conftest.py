"""Fixtures of the ingestion tests: a session factory on the test database and write-key credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from store.db import create_async_db_engine, session_factory
from store.workspaces import NewWorkspace
from tests.api.ingest_support import Sessions, basic


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_async_db_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
def auth(workspace: NewWorkspace) -> dict[str, str]:
    return basic(workspace.write_key)
