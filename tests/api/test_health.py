from __future__ import annotations

import httpx
from fastapi import FastAPI

from api.app import create_app
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from tests.conftest import make_settings
from tests.servers import free_port


async def test_health_reports_database_and_temporal(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "temporal": "ok"}


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
