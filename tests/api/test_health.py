from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client

from api.app import create_app
from domain.clock import utcnow
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.db import create_async_db_engine, session_factory
from store.outbox import OutboxEvent, complete, enqueue
from store.workspaces import NewWorkspace
from tests.conftest import make_settings
from tests.outbox_rows import outbox
from tests.servers import free_port


async def test_health_reports_database_and_temporal(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("database", "temporal")} == {"database": "ok", "temporal": "ok"}
    assert set(body["dispatch"]) == {"status", "pending", "oldest_seconds", "parked"}


@pytest.fixture
async def old_outbox_row(database_url: str, workspace: NewWorkspace) -> AsyncIterator[int]:
    """An event queued two hours ago that no dispatcher took (the test database has no dispatcher running)."""
    engine = create_async_db_engine(database_url)
    now = utcnow()
    event = OutboxEvent(workspace.workspace.id, "ct_lagging", f"ev-{uuid.uuid4().hex}", "Paid", {}, now)
    try:
        async with session_factory(engine)() as session:
            await enqueue(session, [event], now - timedelta(hours=2))
            await session.commit()
            row_id = (await outbox(session_factory(engine), workspace.workspace.id))[0].id
            assert row_id is not None
            yield row_id
            await complete(session, [row_id])
            await session.commit()
    finally:
        await engine.dispose()


async def test_health_degrades_while_dispatch_lags_past_its_bound(
    database_url: str, temporal_client: Client, old_outbox_row: int
) -> None:
    settings = make_settings(database_url, dispatch_lag_degraded_seconds=600)
    app: FastAPI = create_app(settings, TemporalGateway(settings, temporal_client))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/health")
            metrics = (await client.get("/metrics")).text
    assert response.status_code == 200  # ingestion goes on; only the dispatch is behind
    body = response.json()
    assert body["status"] == "degraded"
    assert body["dispatch"]["status"] == "lagging"
    assert body["dispatch"]["pending"] >= 1
    assert body["dispatch"]["oldest_seconds"] >= 7200
    pending = next(line for line in metrics.splitlines() if line.startswith("mauntic_dispatch_pending "))
    assert float(pending.split()[1]) >= 1
    oldest = next(line for line in metrics.splitlines() if line.startswith("mauntic_dispatch_oldest_seconds "))
    assert float(oldest.split()[1]) >= 7200
    assert "mauntic_dispatched_total" in metrics
    assert "mauntic_dispatch_failures_total" in metrics

    relaxed = make_settings(database_url, dispatch_lag_degraded_seconds=10 * 86400)
    app = create_app(relaxed, TemporalGateway(relaxed, temporal_client))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/health")).json()["dispatch"]["status"] == "ok"


async def test_health_is_503_when_temporal_is_unreachable(database_url: str) -> None:
    settings: Settings = make_settings(database_url, temporal_address=f"127.0.0.1:{free_port()}")
    app: FastAPI = create_app(settings, TemporalGateway(settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["temporal"] == "unreachable"
    assert response.json()["database"] == "ok"
