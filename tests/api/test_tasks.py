"""The tasks API: a journey's human task listed for its assignee, completed with an outcome that signals the journey
(on the dev server, with the journey workflow and the real task activities), 409 once completed, 422 for an
unknown outcome, filters and cursor pages, and a task whose journey has ended."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.journeys.versions import JourneyVersions
from activities.tasks.activities import TaskActivities
from domain.ids import new_id
from domain.journeys.definition import validate_definition
from domain.journeys.runtime import JourneyInput, journey_workflow_id
from store.db import create_async_db_engine, session_factory
from store.models_tasks import JourneyTask
from store.workspaces import NewWorkspace
from tests.activities.journey_rows import contact, published
from workflows.journey import JourneyWorkflow
from workflows.runner import workflow_runner
from workflows.search_attributes import initial_search_attributes

CALL = {
    "id": "call", "type": "human_task", "kind": "call", "title": "Call {{ contact.first_name }}",
    "assignee": "rep@example.com", "outcomes": ["done", "no_answer"], "branches": {"no_answer": "voicemail"},
    "next": "finished",
}  # fmt: skip
STEPS: list[dict[str, Any]] = [CALL, {"id": "voicemail", "type": "end"}, {"id": "finished", "type": "end"}]


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_db_engine(database_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def _task_row(sessions: async_sessionmaker[AsyncSession], workspace_id: str, **fields: Any) -> str:
    values: dict[str, Any] = {
        "id": new_id("tsk"), "workspace_id": workspace_id, "journey_id": "jr_x", "version": 1, "contact_id": "ct_x",
        "step_id": "call", "workflow_id": f"journey:{workspace_id}:jr_x:{uuid.uuid4().hex}", "kind": "call",
        "title": "Call", "assignee": "rep@example.com", "outcomes": ["done"],
    }  # fmt: skip
    values.update(fields)
    values.setdefault("idempotency_key", values["workflow_id"] + ":call")
    async with sessions() as session:
        session.add(JourneyTask(**values))
        await session.commit()
    return str(values["id"])


async def test_completing_a_task_signals_its_journey_which_takes_the_outcome_branch(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    workspace: NewWorkspace,
    sessions: async_sessionmaker[AsyncSession],
    temporal_client: Client,
) -> None:
    ws = workspace.workspace.id
    journey_id = await published(sessions, ws, STEPS)
    contact_id = await contact(sessions, ws, first_name="Ada")
    definition = validate_definition({"trigger": {"event": "signed_up"}, "start": "call", "steps": STEPS})
    run = JourneyInput(workspace_id=ws, journey_id=journey_id, version=1, contact_id=contact_id,
                       trigger_event_id="evt-1", definition=definition)  # fmt: skip
    queue = f"tasks-{uuid.uuid4().hex[:8]}"
    activities = TaskActivities(sessions, JourneyVersions())
    async with Worker(temporal_client, task_queue=queue, workflows=[JourneyWorkflow], activities=activities.all(),
                      workflow_runner=workflow_runner()):  # fmt: skip
        handle = await temporal_client.start_workflow(
            JourneyWorkflow.run, run, id=journey_workflow_id(ws, journey_id, contact_id), task_queue=queue,
            search_attributes=initial_search_attributes(run),
        )  # fmt: skip
        for _ in range(200):
            listed = (await client.get(f"/v1/tasks?journey_id={journey_id}", headers=admin_headers)).json()
            if listed["data"]:
                break
            await asyncio.sleep(0.05)
        [task] = listed["data"]
        assert (task["title"], task["kind"], task["status"], task["assignee"]) == ("Call Ada", "call", "open",
                                                                                  "rep@example.com")  # fmt: skip
        url = f"/v1/tasks/{task['id']}/complete"

        unknown = await client.post(url, json={"outcome": "maybe"}, headers=admin_headers)
        assert unknown.status_code == 422, unknown.text
        assert unknown.json()["error"]["code"] == "unknown_task_outcome"

        done = await client.post(url, json={"outcome": "no_answer", "note": "voicemail left", "by": "rep@example.com"},
                                 headers=admin_headers)  # fmt: skip
        assert done.status_code == 200, done.text
        body = done.json()
        assert (body["status"], body["outcome"], body["completed_by"], body["journey_notified"]) == (
            "completed", "no_answer", "rep@example.com", True,
        )  # fmt: skip
        result = await handle.result()

    assert result.last_step == "voicemail"
    again = await client.post(url, json={"outcome": "done"}, headers=admin_headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "task_already_completed"
    read = (await client.get(f"/v1/tasks/{task['id']}", headers=admin_headers)).json()
    assert (read["status"], read["note"]) == ("completed", "voicemail left")


async def test_a_task_whose_journey_has_ended_is_completed_without_telling_it(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    workspace: NewWorkspace,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    task_id = await _task_row(sessions, workspace.workspace.id)

    done = await client.post(f"/v1/tasks/{task_id}/complete", json={}, headers=admin_headers)

    assert done.status_code == 200, done.text
    assert (done.json()["outcome"], done.json()["journey_notified"]) == ("done", False)
    assert done.json()["completed_by"].startswith("api_key:")


async def test_lists_filter_by_assignee_status_and_journey_in_cursor_pages(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    workspace: NewWorkspace,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ws = workspace.workspace.id
    mine = [await _task_row(sessions, ws, assignee="a@example.com") for _ in range(3)]
    await _task_row(sessions, ws, assignee="a@example.com", status="completed")
    await _task_row(sessions, ws, assignee="b@example.com", journey_id="jr_other")

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        params: dict[str, Any] = {"assignee": "a@example.com", "status": "open", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/tasks", params=params, headers=admin_headers)).json()
        seen += [t["id"] for t in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == mine
    other = (await client.get("/v1/tasks?journey_id=jr_other", headers=admin_headers)).json()["data"]
    assert [t["assignee"] for t in other] == ["b@example.com"]
    bad = await client.get("/v1/tasks?status=lost", headers=admin_headers)
    assert bad.status_code == 422


async def test_a_task_of_another_workspace_is_not_found(
    client: httpx.AsyncClient, admin_headers: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    task_id = await _task_row(sessions, "ws_someone_else")

    assert (await client.get(f"/v1/tasks/{task_id}", headers=admin_headers)).status_code == 404
    missing = await client.post(f"/v1/tasks/{task_id}/complete", json={}, headers=admin_headers)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "task_not_found")


@pytest.mark.parametrize(("status", "code"), [("expired", "task_expired"), ("cancelled", "task_cancelled")])
async def test_an_expired_or_cancelled_task_cannot_be_completed(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    workspace: NewWorkspace,
    sessions: async_sessionmaker[AsyncSession],
    status: str,
    code: str,
) -> None:
    task_id = await _task_row(sessions, workspace.workspace.id, status=status)

    late = await client.post(f"/v1/tasks/{task_id}/complete", json={"outcome": "done"}, headers=admin_headers)

    assert (late.status_code, late.json()["error"]["code"]) == (409, code)
    listed = (await client.get(f"/v1/tasks?status={status}", headers=admin_headers)).json()["data"]
    assert task_id in [t["id"] for t in listed]


async def test_two_completions_racing_complete_the_task_once(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    workspace: NewWorkspace,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    task_id = await _task_row(sessions, workspace.workspace.id, outcomes=["done", "no_answer"])
    url = f"/v1/tasks/{task_id}/complete"

    answers = await asyncio.gather(
        client.post(url, json={"outcome": "done"}, headers=admin_headers),
        client.post(url, json={"outcome": "no_answer"}, headers=admin_headers),
    )

    assert sorted(a.status_code for a in answers) == [200, 409]
    [won] = [a.json() for a in answers if a.status_code == 200]
    read = (await client.get(f"/v1/tasks/{task_id}", headers=admin_headers)).json()
    assert (read["status"], read["outcome"]) == ("completed", won["outcome"])
