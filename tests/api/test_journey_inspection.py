"""Journey inspection on the real dev server: contacts and stats from visibility, a run explained, the graph,
previews, a test send through the relay, and template warnings on create/update/publish."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from domain.clock import utcnow
from domain.journeys.runtime import EVENT_SIGNAL, JourneyEventSignal
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.workspaces import NewWorkspace
from tests.api.inspection_support import DEFINITION, dev_server, enter, eventually, new_contact, parked, smtp_on
from tests.conftest import make_settings
from tests.servers import SmtpSink
from worker import running_worker

TEMPORAL_PORT = 7510  # and 7511, 7512 (the dev server's HTTP and metrics ports)
SMTP_PORT = 7513


@pytest.fixture(scope="module")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    async with dev_server(TEMPORAL_PORT) as env:
        yield env


@pytest.fixture(scope="module")
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture(scope="module")
async def sink() -> AsyncIterator[SmtpSink]:
    async with smtp_on(SMTP_PORT) as smtp:
        yield smtp


@pytest.fixture
def settings(database_url: str, sink: SmtpSink) -> Settings:
    return make_settings(
        database_url,
        smtp_host=sink.host,
        smtp_port=sink.port,
        email_from="Team <team@example.test>",
        dispatcher=False,
        temporal_ui_url="http://ui.example.test:8080/",
    )


@pytest.fixture
async def app(settings: Settings, temporal_client: Client) -> AsyncIterator[FastAPI]:
    application = create_app(settings, TemporalGateway(settings, temporal_client))
    async with application.router.lifespan_context(application), running_worker(settings, temporal_client):
        yield application


async def _journey(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    created = await client.post("/v1/journeys", json={"name": "Onboarding", "definition": DEFINITION}, headers=headers)
    assert created.status_code == 201, created.text
    journey_id: str = created.json()["id"]
    assert (await client.post(f"/v1/journeys/{journey_id}/publish", headers=headers)).status_code == 200
    return journey_id


async def test_contacts_stats_and_explain(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    workspace: NewWorkspace,
    database_url: str,
    temporal_client: Client,
    settings: Settings,
) -> None:
    ws = workspace.workspace.id
    journey_id = await _journey(client, admin_headers)
    waiting = await new_contact(database_url, ws, email="w@example.test")
    finishing = await new_contact(database_url, ws, email="f@example.test", first_name="Fay")
    queue = settings.temporal_task_queue
    await enter(temporal_client, database_url, queue, ws, journey_id, waiting.id)
    finished_id = await enter(temporal_client, database_url, queue, ws, journey_id, finishing.id)
    activated = JourneyEventSignal(event_id="ev_act", name="Activated", timestamp=utcnow())
    await temporal_client.get_workflow_handle(finished_id).signal(EVENT_SIGNAL, activated)
    await parked(temporal_client, ws, journey_id, "ct_conv", step="hold", outcome="converted", holdout=True)
    await parked(temporal_client, ws, journey_id, "ct_hold", step="hold", holdout=True)

    async def page(**params: Any) -> dict[str, Any]:
        response = await client.get(f"/v1/journeys/{journey_id}/contacts", params=params, headers=admin_headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    done = await eventually(lambda: page(status="completed"), lambda body: len(body["data"]) == 1)
    [row] = done["data"]
    assert (row["contact_id"], row["status"], row["node"]) == (finishing.id, "completed", "bye")
    assert row["temporal_ui"].startswith(f"http://ui.example.test:8080/namespaces/default/workflows/journey%3A{ws}")

    at_hold = await eventually(lambda: page(node="hold", status="running"), lambda body: len(body["data"]) == 3)
    assert {r["contact_id"] for r in at_hold["data"]} == {waiting.id, "ct_conv", "ct_hold"}
    converted = (await page(status="converted"))["data"]
    assert [(r["contact_id"], r["holdout"]) for r in converted] == [("ct_conv", True)]

    first = await page(limit=2)
    assert len(first["data"]) == 2
    assert first["next_cursor"]
    second = await page(limit=2, cursor=first["next_cursor"])
    seen = {r["workflow_id"] for r in first["data"] + second["data"]}
    assert len(seen) == 4
    bad = await client.get(f"/v1/journeys/{journey_id}/contacts", params={"cursor": "x" * 40}, headers=admin_headers)
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_cursor")
    odd = await client.get(f"/v1/journeys/{journey_id}/contacts", params={"node": "a'b"}, headers=admin_headers)
    assert (odd.status_code, odd.json()["error"]["code"]) == (422, "invalid_node")

    stats = (await client.get(f"/v1/journeys/{journey_id}/stats", headers=admin_headers)).json()
    assert stats["entered"] == 2  # enrollments: the parked runs have none
    assert stats["running"] == 3
    assert stats["completed"] == 1
    assert stats["converted"] == 1
    assert stats["active"] == {"hold": 3}
    assert stats["holdout"]["holdout"] == 2
    assert stats["holdout"]["holdout_converted"] == 1
    assert stats["holdout"]["holdout_rate"] == 0.5
    assert stats["holdout"]["treatment_rate"] == 0.0
    assert "MaunticJourney" in stats["temporal_ui"]["running"]

    explained = await client.get(f"/v1/journeys/{journey_id}/contacts/{finishing.id}/explain", headers=admin_headers)
    body = explained.json()
    assert (body["status"], body["current_node"]) == ("completed", None)
    assert [(e["node"], e["type"]) for e in body["timeline"]] == [
        ("hold", "wait_for_event"),
        ("welcome", "send_email"),
        ("bye", "end"),
    ]
    assert body["timeline"][0]["outcome"] is not None
    assert body["temporal_ui"].endswith(f"/workflows/{finished_id.replace(':', '%3A')}")
    assert "hold (wait_for_event)" in body["text"]

    text = await client.get(
        f"/v1/journeys/{journey_id}/contacts/{waiting.id}/explain", headers={**admin_headers, "Accept": "text/plain"}
    )
    assert text.headers["content-type"].startswith("text/plain")
    assert f"Contact {waiting.id} in journey {journey_id} v1: running, at step hold" in text.text
    assert "hold (wait_for_event) -> in progress" in text.text

    mermaid = await client.get(f"/v1/journeys/{journey_id}/graph", headers=admin_headers)
    assert mermaid.text.startswith("flowchart TD\n")
    assert "hold<br/>wait_for_event · 3 here" in mermaid.text
    svg = await client.get(f"/v1/journeys/{journey_id}/graph", params={"format": "svg"}, headers=admin_headers)
    assert svg.headers["content-type"] == "image/svg+xml"
    assert ET.fromstring(svg.text).tag.endswith("svg")


async def test_unknown_journey_and_enrollment_are_404(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    missing = await client.get("/v1/journeys/jr_nope/stats", headers=admin_headers)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "journey_not_found")
    journey_id = await _journey(client, admin_headers)
    absent = await client.get(f"/v1/journeys/{journey_id}/contacts/ct_x/explain", headers=admin_headers)
    assert (absent.status_code, absent.json()["error"]["code"]) == (404, "journey_enrollment_not_found")
    version = await client.get(f"/v1/journeys/{journey_id}/graph", params={"version": 9}, headers=admin_headers)
    assert (version.status_code, version.json()["error"]["code"]) == (404, "journey_version_not_found")


async def test_warnings_on_create_update_and_publish(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace, database_url: str
) -> None:
    await new_contact(database_url, workspace.workspace.id, attributes={"company": "Acme"})
    created = await client.post("/v1/journeys", json={"name": "W", "definition": DEFINITION}, headers=admin_headers)
    warnings = {(w["node"], w["field"], w["variable"]) for w in created.json()["warnings"]}
    # company is an attribute of a contact of the workspace, first_name a contact field: no warning for them
    assert warnings == {("welcome", "text", "contact.plan"), ("welcome", "text", "event.name")}
    journey_id = created.json()["id"]
    clean = {
        **DEFINITION,
        "steps": [*DEFINITION["steps"][:1], {**DEFINITION["steps"][1], "text": "ok"}, DEFINITION["steps"][2]],
    }
    updated = await client.patch(f"/v1/journeys/{journey_id}", json={"definition": clean}, headers=admin_headers)
    assert updated.status_code == 200
    assert updated.json()["warnings"] == []
    published = await client.post(f"/v1/journeys/{journey_id}/publish", headers=admin_headers)
    assert published.status_code == 200
    assert published.json()["warnings"] == []


async def test_preview_renders_like_the_send(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace, database_url: str
) -> None:
    journey_id = await _journey(client, admin_headers)
    contact = await new_contact(
        database_url, workspace.workspace.id, first_name="Ada", attributes={"company": "<Engines>", "plan": "pro"}
    )
    url = f"/v1/journeys/{journey_id}/steps/welcome/preview"
    stored = (await client.post(url, json={"contact_id": contact.id}, headers=admin_headers)).json()
    assert stored["rendered"] == {
        "subject": "Welcome, Ada!",
        "html": "<p>Hi Ada from &lt;Engines&gt;</p>",
        "text": "Plan: pro ",
    }
    assert [w["variable"] for w in stored["warnings"]] == ["event.name"]
    sample = {"contact": {"first_name": "Bo", "attributes": {"company": "Co"}}}
    rendered = (await client.post(url, json=sample, headers=admin_headers)).json()["rendered"]
    assert rendered["subject"] == "Welcome, Bo!"
    assert rendered["html"] == "<p>Hi Bo from Co</p>"
    both = await client.post(url, json={"contact_id": contact.id, **sample}, headers=admin_headers)
    assert both.status_code == 422
    wait = await client.post(f"/v1/journeys/{journey_id}/steps/hold/preview", json=sample, headers=admin_headers)
    assert (wait.status_code, wait.json()["error"]["code"]) == (422, "step_has_no_content")
    nostep = await client.post(f"/v1/journeys/{journey_id}/steps/zzz/preview", json=sample, headers=admin_headers)
    assert (nostep.status_code, nostep.json()["error"]["code"]) == (404, "journey_step_not_found")


async def test_test_send_goes_out_once_marked_and_unrecorded(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace, sink: SmtpSink
) -> None:
    journey_id = await _journey(client, admin_headers)
    before = len(sink.messages)
    body = {"to": "designer@example.test", "contact": {"first_name": "Ada"}}
    sent = await client.post(f"/v1/journeys/{journey_id}/steps/welcome/test-send", json=body, headers=admin_headers)
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "sent"
    assert sent.json()["rendered"]["subject"] == "[Test] Welcome, Ada!"
    messages = await sink.wait_for(before + 1)
    assert messages[before]["To"] == "designer@example.test"
    assert messages[before]["Subject"] == "[Test] Welcome, Ada!"
    logged = await client.get("/v1/messages", headers=admin_headers)
    assert (logged.status_code, logged.json()["data"]) == (200, [])  # no message-log row: not a journey send
    bad = await client.post(
        f"/v1/journeys/{journey_id}/steps/hold/test-send", json={"to": "a@example.test"}, headers=admin_headers
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "test_send_unsupported")
    not_an_address = await client.post(
        f"/v1/journeys/{journey_id}/steps/welcome/test-send", json={"to": "nope"}, headers=admin_headers
    )
    assert not_an_address.status_code == 422


async def test_without_temporal_reads_are_503_and_the_graph_comes_without_counts(
    database_url: str, workspace: NewWorkspace
) -> None:
    settings = make_settings(database_url, temporal_address="127.0.0.1:7599")  # nothing listens there
    app = create_app(settings, TemporalGateway(settings))
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as client:
            journey_id = await _journey(client, {})
            stats = await client.get(f"/v1/journeys/{journey_id}/stats")
            listed = await client.get(f"/v1/journeys/{journey_id}/contacts")
            drawn = await client.get(f"/v1/journeys/{journey_id}/graph", params={"format": "svg"})
    assert (stats.status_code, stats.json()["error"]["code"]) == (503, "temporal_unavailable")
    assert (listed.status_code, listed.json()["error"]["code"]) == (503, "temporal_unavailable")
    assert drawn.status_code == 200
    assert drawn.headers["x-mauntic-counts"] == "unavailable"
    assert "· 0 here" not in drawn.text  # no counts drawn rather than zeros
