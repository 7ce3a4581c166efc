"""A journey can never get stuck: one that cannot run fails visibly (a failed state with its reason and a dead
letter), and one whose execution exists but cannot answer is reported as stuck, not as Temporal being down."""

from __future__ import annotations

import asyncio
import copy
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col
from temporalio.client import Client
from temporalio.worker import Worker

from domain.journeys.runtime import WORKFLOW_NAME, JourneyInput, journey_workflow_id
from mauntic.settings import Settings
from store.db import create_async_db_engine, session_factory
from store.journeys import enroll
from store.models import JourneyEnrollment, JourneyVersion
from store.workspaces import NewWorkspace
from tests.api.ingest_support import basic
from tests.e2e.stuck_workflow import JourneyThatCannotRun
from tests.e2e.test_journey_e2e import JOURNEY
from workflows.runner import workflow_runner

pytestmark = pytest.mark.e2e


async def _sql(database_url: str, statement: Any) -> None:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            await session.execute(statement)
            await session.commit()
    finally:
        await engine.dispose()


async def _state(api: httpx.AsyncClient, journey_id: str, contact_id: str, status: str) -> dict[str, Any]:
    for _ in range(200):
        response = await api.get(f"/v1/journeys/{journey_id}/contacts/{contact_id}")
        if response.status_code == 200 and response.json()["state"]["status"] == status:
            body: dict[str, Any] = response.json()
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"never {status}: {response.status_code} {response.text}")


async def test_a_version_too_large_to_load_fails_visibly_with_a_dead_letter(
    base_url: str, workspace: NewWorkspace, database_url: str
) -> None:
    """Before: the version loaded by a local activity whose result was over Temporal's payload limit; every
    workflow task failed (TMPRL1103), the journey stayed Running forever and the state endpoint said 503."""
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        journey_id = (await api.post("/v1/journeys", json={"name": "Big", "definition": JOURNEY})).json()["id"]
        assert (await api.post(f"/v1/journeys/{journey_id}/publish")).status_code == 200
        # A version stored before definitions were bounded: valid, but 2.5 MB.
        huge: dict[str, Any] = copy.deepcopy(JOURNEY)
        huge["steps"][0]["text"] = "x" * 2_500_000
        await _sql(
            database_url,
            update(JourneyVersion).where(col(JourneyVersion.journey_id) == journey_id).values(definition=huge),
        )

        write = basic(workspace.write_key)
        identify = {"userId": "u-big", "traits": {"email": "big@example.test"}}
        assert (await api.post("/v1/identify", json=identify, headers=write)).status_code == 200
        track = {"userId": "u-big", "event": "Signed Up", "properties": {"plan": "pro"}}
        assert (await api.post("/v1/track", json=track, headers=write)).status_code == 200
        contact = (await api.get("/v1/contacts/lookup", params={"external_id": "u-big"})).json()

        state = (await _state(api, journey_id, contact["id"], "failed"))["state"]
        assert "could not be loaded" in state["error"]
        assert "more than a journey can load" in state["error"]
        letters = (await api.get(f"/v1/journeys/{journey_id}/dead-letters")).json()["data"]
        assert [(d["contact_id"], d["error_type"], d["step_id"]) for d in letters] == [
            (contact["id"], "JourneyVersionUnavailable", None)
        ]
        assert letters[0]["reason"] == state["error"]


async def test_an_execution_that_cannot_answer_is_reported_stuck_with_its_reason(
    base_url: str, workspace: NewWorkspace, database_url: str, temporal_client: Client, stack_settings: Settings
) -> None:
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        journey_id = (await api.post("/v1/journeys", json={"name": "Stuck", "definition": JOURNEY})).json()["id"]
        contact = (await api.post("/v1/contacts", json={"email": "stuck@example.test"})).json()
        workflow_id = journey_workflow_id(workspace.workspace.id, journey_id, contact["id"])
        engine = create_async_db_engine(database_url)
        async with session_factory(engine)() as session:
            row = JourneyEnrollment(
                workspace_id=workspace.workspace.id,
                journey_id=journey_id,
                contact_id=contact["id"],
                version=1,
                workflow_id=workflow_id,
                trigger_event_id="evt-stuck",
            )
            await enroll(session, row)
            await session.commit()
        await engine.dispose()
        queue = f"stuck-{uuid.uuid4().hex[:8]}"
        async with Worker(
            temporal_client, task_queue=queue, workflows=[JourneyThatCannotRun], workflow_runner=workflow_runner()
        ):
            journey = JourneyInput(
                workspace_id=workspace.workspace.id,
                journey_id=journey_id,
                version=1,
                contact_id=contact["id"],
                trigger_event_id="evt-stuck",
            )
            handle = await temporal_client.start_workflow(WORKFLOW_NAME, journey, id=workflow_id, task_queue=queue)
            try:
                # A first failure may be a passing hiccup (503, retry); failing again and again is stuck (409).
                for _ in range(300):
                    response = await api.get(f"/v1/journeys/{journey_id}/contacts/{contact['id']}")
                    if response.status_code != 503:
                        break
                    assert response.json()["error"]["code"] == "journey_query_failed"
                    await asyncio.sleep(0.1)
                assert response.status_code == 409, response.text
                error = response.json()["error"]
                assert error["code"] == "journey_stuck"
                assert "fails on every attempt" in error["details"]["reason"]
                assert error["details"]["workflow_id"] == workflow_id
                assert error["details"]["workflow_task_attempt"] >= 3
            finally:
                await handle.terminate("test over")
            # Once it has closed, the state says so, with why.
            closed = await _state(api, journey_id, contact["id"], "failed")
            assert "terminated" in closed["state"]["error"]
