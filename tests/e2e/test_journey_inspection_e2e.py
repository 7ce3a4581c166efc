"""Journey inspection on the whole stack: events ingested through the Segment client, the dispatcher entering
contacts, a real worker, and the API under uvicorn answering contacts, stats and explain from the dev server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.workspaces import NewWorkspace
from tests.api.inspection_support import DEFINITION, dev_server, eventually, smtp_on
from tests.conftest import make_settings
from tests.e2e.test_journey_e2e import segment_track
from tests.outbox_rows import discard_outbox
from tests.servers import SmtpSink, serve_api
from worker import running_worker

pytestmark = pytest.mark.e2e
TEMPORAL_PORT = 7520  # and 7521, 7522
SMTP_PORT = 7523
API_PORT = 7524


@pytest.fixture(scope="module")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    async with dev_server(TEMPORAL_PORT) as env:
        yield env


@pytest.fixture(scope="module")
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpSink]:
    async with smtp_on(SMTP_PORT) as sink:
        yield sink


@pytest.fixture
def stack_settings(database_url: str, smtp: SmtpSink) -> Settings:
    return make_settings(database_url, smtp_host=smtp.host, smtp_port=smtp.port, email_from="Team <team@example.test>")


@pytest.fixture
async def base_url(stack_settings: Settings, temporal_client: Client) -> AsyncIterator[str]:
    await discard_outbox(stack_settings.resolved_database_url)
    app = create_app(stack_settings, TemporalGateway(stack_settings, temporal_client))
    async with running_worker(stack_settings, temporal_client), serve_api(app, API_PORT) as url:
        yield url


async def test_contacts_stats_and_explain_follow_a_contact_through_the_journey(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink
) -> None:
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        created = await api.post("/v1/journeys", json={"name": "Inspected", "definition": DEFINITION})
        journey_id = created.json()["id"]
        assert (await api.post(f"/v1/journeys/{journey_id}/publish")).status_code == 200

        identify = ("identify", {"user_id": "u-ins", "traits": {"email": "ins@example.test", "firstName": "Ina"}})
        signed_up = ("track", {"user_id": "u-ins", "event": "Signed Up", "properties": {}})
        assert await asyncio.to_thread(segment_track, workspace.write_key, base_url, [identify, signed_up]) == []

        async def listed(**params: Any) -> list[dict[str, Any]]:
            response = await api.get(f"/v1/journeys/{journey_id}/contacts", params=params)
            assert response.status_code == 200, response.text
            rows: list[dict[str, Any]] = response.json()["data"]
            return rows

        [waiting] = await eventually(lambda: listed(node="hold", status="running"), lambda rows: len(rows) == 1)
        contact_id = waiting["contact_id"]
        assert waiting["temporal_ui"].startswith("http://127.0.0.1:8233/namespaces/default/workflows/journey%3A")

        stats = await eventually(
            lambda: api.get(f"/v1/journeys/{journey_id}/stats"), lambda r: r.json()["entered"] == 1
        )
        assert stats.json()["active"] == {"hold": 1}
        assert stats.json()["running"] == 1

        explained = (await api.get(f"/v1/journeys/{journey_id}/contacts/{contact_id}/explain")).json()
        assert (explained["status"], explained["current_node"]) == ("running", "hold")
        assert explained["timeline"][0]["node"] == "hold"

        activated = ("track", {"user_id": "u-ins", "event": "Activated", "properties": {}})
        assert await asyncio.to_thread(segment_track, workspace.write_key, base_url, [activated]) == []
        [welcome] = await smtp.wait_for(1)
        assert welcome["Subject"] == "Welcome, Ina!"

        [done] = await eventually(lambda: listed(status="completed"), lambda rows: len(rows) == 1)
        assert (done["contact_id"], done["node"]) == (contact_id, "bye")
        final = await eventually(
            lambda: api.get(f"/v1/journeys/{journey_id}/stats"), lambda r: r.json()["completed"] == 1
        )
        assert final.json()["active"] == {"hold": 0}
        assert final.json()["running"] == 0
        text = await api.get(
            f"/v1/journeys/{journey_id}/contacts/{contact_id}/explain", headers={"Accept": "text/plain"}
        )
        assert "welcome (send_email)" in text.text
        assert "v1: completed" in text.text
