"""Webhook and task steps end to end on the dev server with the production worker (worker.py): a waited webhook
signed under the step's idempotency key, a fire-and-forget one delivered by the durable path, a call task whose
1-second SLA notifies through a `task.escalated` delivery (outbox, dispatcher, delivery workflow), and its
completion through the tasks API, which ends the journey on the outcome's branch."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook
from temporalio.client import Client

from domain.journeys.definition import validate_definition
from domain.journeys.runtime import JourneyInput, journey_workflow_id
from drills.webhook_sink import Received, WebhookSink
from mauntic.settings import Settings
from store.db import create_async_db_engine, session_factory
from store.workspaces import NewWorkspace
from tests.activities.journey_rows import contact, published
from tests.conftest import make_settings
from worker import running_worker
from workflows.journey import JourneyWorkflow
from workflows.search_attributes import initial_search_attributes

pytestmark = pytest.mark.e2e
SINK_PORT = 7420


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, dispatch_poll_seconds=0.2, webhook_retry_scale=0.02)


async def _until(predicate: Callable[[], bool], seconds: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.1)


def _steps(endpoint_id: str) -> list[dict[str, Any]]:
    return [
        {"id": "lookup", "type": "webhook", "endpoint_id": endpoint_id, "wait_for_response": True, "timeout": "PT5S",
         "body": {"email": "{{ contact.email }}"}, "branches": {"5xx": "failed"}, "next": "announce"},
        {"id": "announce", "type": "webhook", "endpoint_id": endpoint_id, "body": {"step": "{{ journey.step_id }}"},
         "next": "call"},
        {"id": "call", "type": "human_task", "kind": "call", "title": "Call {{ contact.first_name }}",
         "assignee": "rep@example.com", "sla": {"after": "PT1S", "escalate": {"notify": "manager@example.com"}},
         "due": "P1D", "outcomes": ["done", "no_answer"], "branches": {"no_answer": "failed"}, "next": "finished"},
        {"id": "finished", "type": "end"},
        {"id": "failed", "type": "end"},
    ]  # fmt: skip


@pytest.mark.timeout(180)
async def test_webhook_and_task_steps_run_on_the_production_worker(
    settings: Settings,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    workspace: NewWorkspace,
    temporal_client: Client,
) -> None:
    engine = create_async_db_engine(settings.resolved_database_url)
    sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
    ws = workspace.workspace.id
    try:
        async with WebhookSink(port=SINK_PORT).running() as sink:
            created = await client.post("/v1/webhook-endpoints", headers=admin_headers,
                                        json={"url": sink.url, "event_types": ["task.escalated"]})  # fmt: skip
            assert created.status_code == 201, created.text
            endpoint = created.json()
            journey_id = await published(sessions, ws, _steps(endpoint["id"]))
            contact_id = await contact(sessions, ws, email="ada@example.com", first_name="Ada")
            steps = _steps(endpoint["id"])
            definition = validate_definition({"trigger": {"event": "signed_up"}, "start": "lookup", "steps": steps})
            run = JourneyInput(workspace_id=ws, journey_id=journey_id, version=1, contact_id=contact_id,
                               trigger_event_id=f"evt-{uuid.uuid4().hex[:6]}", definition=definition)  # fmt: skip
            async with running_worker(settings, temporal_client):
                handle = await temporal_client.start_workflow(
                    JourneyWorkflow.run, run, id=journey_workflow_id(ws, journey_id, contact_id),
                    task_queue=settings.temporal_task_queue, search_attributes=initial_search_attributes(run),
                )  # fmt: skip

                def of_type(kind: str) -> list[Received]:
                    return [r for r in sink.requests if r.body and json.loads(r.body).get("type") == kind]

                await _until(lambda: len(sink.requests) >= 3 and bool(of_type("task.escalated")))
                listed = (await client.get(f"/v1/tasks?journey_id={journey_id}", headers=admin_headers)).json()
                [task] = listed["data"]
                done = await client.post(f"/v1/tasks/{task['id']}/complete", json={"outcome": "done"},
                                         headers=admin_headers)  # fmt: skip
                assert done.status_code == 200, done.text
                result = await handle.result()
                state = await handle.query(JourneyWorkflow.query_state)  # answered by a running worker
    finally:
        await engine.dispose()

    assert result.last_step == "finished"
    verifier = Webhook(endpoint["secret"])
    for request in sink.requests:  # every request signed with the endpoint's secret
        verifier.verify(request.body, request.headers)
    by_body = {json.dumps(json.loads(r.body), sort_keys=True): r for r in sink.requests}
    lookup = by_body[json.dumps({"email": "ada@example.com"})]
    assert lookup.headers["webhook-id"] == f"{run_key(ws, journey_id, contact_id)}:lookup"
    announce = by_body[json.dumps({"step": "announce"})]
    assert announce.headers["webhook-id"].startswith("msg_")  # a delivery of the durable path
    [escalated] = of_type("task.escalated")
    data = json.loads(escalated.body)["data"]
    assert (data["task_id"], data["properties"]["notify"]) == (task["id"], "manager@example.com")
    outcomes = {r.step_id: r.outcome for r in state.history}
    assert outcomes == {"lookup": "2xx", "announce": "queued", "call": "done", "finished": "end"}
    call = next(r for r in state.history if r.step_id == "call")
    assert [d["decision"] for d in call.detail["decisions"]] == ["created", "escalated", "completed"]
    assert call.detail["decisions"][1]["notified"] is True


def run_key(workspace_id: str, journey_id: str, contact_id: str) -> str:
    return journey_workflow_id(workspace_id, journey_id, contact_id)
