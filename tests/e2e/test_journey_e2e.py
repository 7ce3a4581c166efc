"""The README's stack end to end: real Temporal dev server, a real worker, the API under uvicorn, the database,
the official Segment client, and a real SMTP server on loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from segment.analytics.client import Client as SegmentClient
from sqlalchemy import func, select
from temporalio.client import Client

from domain.journeys.runtime import journey_workflow_id
from store.db import create_async_db_engine, session_factory
from store.models import JourneyEnrollment, MessageLog
from store.workspaces import NewWorkspace
from tests.servers import SmtpSink

pytestmark = pytest.mark.e2e

JOURNEY = {
    "trigger": {"event": "Signed Up", "where": [{"property": "plan", "op": "eq", "value": "pro"}]},
    "start": "welcome",
    "steps": [
        {
            "id": "welcome",
            "type": "send_email",
            "subject": "Welcome, {{ contact.first_name }}!",
            "text": "Hi {{ contact.first_name }}, your {{ contact.company }} account is ready.",
            "html": "<p>Hi {{ contact.first_name }}</p>",
            "next": "await_activation",
        },
        {
            "id": "await_activation",
            "type": "wait_for_event",
            "event": "Activated",
            "timeout": "P3D",
            "on_event": "thanks",
            "on_timeout": "nudge",
        },
        {"id": "thanks", "type": "send_email", "subject": "Thanks for activating", "text": "Enjoy.", "next": "done"},
        {"id": "nudge", "type": "send_email", "subject": "Need a hand?", "text": "Reply to this email."},
        {"id": "done", "type": "end"},
    ],
}


def segment_track(write_key: str, base_url: str, calls: list[tuple[str, dict[str, Any]]]) -> list[Exception]:
    """Run the official Segment client (synchronous, it uses requests) and return the errors it reported."""
    errors: list[Exception] = []
    segment = SegmentClient(write_key, host=base_url, sync_mode=True, on_error=lambda e, _b: errors.append(e))
    for kind, kwargs in calls:
        getattr(segment, kind)(**kwargs)
    segment.flush()
    return errors


async def count(database_url: str, model: Any, **where: str) -> int:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            query = select(func.count()).select_from(model)
            for column, value in where.items():
                query = query.where(getattr(model, column) == value)
            return int((await session.execute(query)).scalar_one())
    finally:
        await engine.dispose()


_NOT_YET = ("journey_query_failed", "journey_enrollment_not_found", "journey_run_not_found")


async def journey_state(api: httpx.AsyncClient, journey_id: str, contact_id: str) -> dict[str, Any]:
    # Retried: the dispatcher enters a contact shortly after its trigger was ingested (not yet enrolled), and a
    # journey that could not answer just now (a cold worker's first task) says so.
    for _ in range(100):
        response = await api.get(f"/v1/journeys/{journey_id}/contacts/{contact_id}")
        if response.status_code not in (404, 503) or response.json()["error"]["code"] not in _NOT_YET:
            break
        await asyncio.sleep(0.1)
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()["state"]
    return state


async def wait_state(api: httpx.AsyncClient, journey_id: str, contact_id: str, **expected: Any) -> dict[str, Any]:
    for _ in range(300):
        state = await journey_state(api, journey_id, contact_id)
        if all(state.get(k) == v for k, v in expected.items()):
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"journey never reached {expected}: {state}")


async def test_contact_runs_a_journey_end_to_end(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink, database_url: str, temporal_client: Client
) -> None:
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        created = await api.post("/v1/journeys", json={"name": "Onboarding", "definition": JOURNEY})
        assert created.status_code == 201, created.text
        journey_id = created.json()["id"]
        published = await api.post(f"/v1/journeys/{journey_id}/publish")
        assert published.json()["published_version"] == 1

        identify = (
            "identify",
            {
                "user_id": "u-ada",
                "traits": {"email": "ada@example.test", "firstName": "Ada", "company": "Analytical Engines"},
            },
        )
        trigger = ("track", {"user_id": "u-ada", "event": "Signed Up", "properties": {"plan": "pro"}})
        errors = await asyncio.to_thread(segment_track, workspace.write_key, base_url, [identify, trigger])
        assert errors == []

        [welcome] = await smtp.wait_for(1)
        assert welcome["Subject"] == "Welcome, Ada!"
        assert welcome["To"] == "ada@example.test"
        assert "Analytical Engines account is ready" in welcome.get_body(("plain",)).get_content()  # type: ignore[union-attr]

        contact = (await api.get("/v1/contacts/lookup", params={"external_id": "u-ada"})).json()
        state = await wait_state(api, journey_id, contact["id"], waiting_for_event="Activated")
        assert state["current_step"] == "await_activation"
        assert state["status"] == "running"

        # The same trigger again: no second journey, no second welcome email.
        errors = await asyncio.to_thread(segment_track, workspace.write_key, base_url, [trigger])
        assert errors == []
        await asyncio.sleep(1.0)
        assert len(smtp.messages) == 1
        assert await count(database_url, JourneyEnrollment, journey_id=journey_id) == 1
        workflow_id = journey_workflow_id(workspace.workspace.id, journey_id, contact["id"])
        runs = [w async for w in temporal_client.list_workflows(f"WorkflowId = '{workflow_id}'")]
        assert len(runs) == 1

        # The follow-up event resumes the journey down the event branch.
        activated = ("track", {"user_id": "u-ada", "event": "Activated", "properties": {}})
        errors = await asyncio.to_thread(segment_track, workspace.write_key, base_url, [activated])
        assert errors == []
        messages = await smtp.wait_for(2)
        assert [m["Subject"] for m in messages] == ["Welcome, Ada!", "Thanks for activating"]
        final = await wait_state(api, journey_id, contact["id"], status="completed")
        assert [step["step_id"] for step in final["history"]] == ["welcome", "await_activation", "thanks", "done"]
        assert await count(database_url, MessageLog, contact_id=contact["id"], status="sent") == 2

    await asyncio.sleep(0.5)
    assert len(smtp.messages) == 2
