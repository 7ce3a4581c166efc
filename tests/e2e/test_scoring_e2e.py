"""Lead scoring end to end: events tracked through the ingestion API update the score within seconds (the
dispatcher's scoring consumer), crossing a threshold opens an alert and starts a journey whose trigger is that
score crossing; real Temporal dev server, worker with its dispatcher, API under uvicorn, the database."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from store.models import JourneyEnrollment
from store.workspaces import NewWorkspace
from tests.api.ingest_support import basic
from tests.e2e.test_journey_e2e import count, journey_state

pytestmark = pytest.mark.e2e

JOURNEY = {
    "trigger": {"score_crossed": {"group": "total", "threshold": 25, "direction": "up"}},
    "start": "hold",
    "steps": [
        {"id": "hold", "type": "wait_for_event", "event": "Never", "timeout": "P3D", "on_event": "done",
         "on_timeout": "done"},
        {"id": "done", "type": "end"},
    ],
}  # fmt: skip


async def _until(check: Any, seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.2)


async def test_tracked_events_cross_a_threshold_alert_and_start_a_journey(
    base_url: str, workspace: NewWorkspace, database_url: str
) -> None:
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        rule = {"name": "Demo request", "group": "interest", "points": 15, "event": "Demo Requested",
                "half_life_hours": 720}  # fmt: skip
        assert (await api.post("/v1/scoring/rules", json=rule)).status_code == 201
        threshold = {"group": "total", "value": 25, "direction": "up", "alert_ttl_hours": 24}
        assert (await api.post("/v1/scoring/thresholds", json=threshold)).status_code == 201
        created = await api.post("/v1/journeys", json={"name": "Hot lead", "definition": JOURNEY})
        assert created.status_code == 201, created.text
        journey_id = created.json()["id"]
        assert (await api.post(f"/v1/journeys/{journey_id}/publish")).status_code == 200

        track = {"userId": "hot-1", "event": "Demo Requested"}
        ingest = basic(workspace.write_key)
        assert (await api.post("/v1/track", json=track, headers=ingest)).status_code == 200
        started = time.monotonic()

        async def contact_id() -> str | None:
            data = (await api.get("/v1/contacts")).json()["data"]
            return next((c["id"] for c in data if c["external_id"] == "hot-1"), None)

        contact = await _until(contact_id)
        assert contact is not None

        async def total(expected: float) -> bool:
            score = (await api.get(f"/v1/contacts/{contact}/score")).json()
            return bool(score["total"] == expected)

        assert await _until(lambda: total(15.0)), "the first event scored"
        first_latency = time.monotonic() - started
        assert (await api.get("/v1/scoring/alerts")).json()["data"] == []

        assert (await api.post("/v1/track", json=track, headers=ingest)).status_code == 200
        assert await _until(lambda: total(30.0)), "the second event scored"

        async def alerts() -> list[dict[str, Any]]:
            data: list[dict[str, Any]] = (await api.get("/v1/scoring/alerts")).json()["data"]
            return data

        [alert] = await _until(alerts)
        assert (alert["contact_id"], alert["previous"], alert["score"]) == (contact, 15.0, 30.0)

        async def enrolled() -> int:
            return await count(database_url, JourneyEnrollment, journey_id=journey_id, contact_id=contact)

        assert await _until(enrolled) == 1
        state = await journey_state(api, journey_id, contact)
        assert state["current_step"] == "hold"
        assert first_latency < 30
