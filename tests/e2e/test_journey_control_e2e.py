"""Set-based control on the real dev server (the time-skipping server has no batch operations): pause holds the
sends of every running contact and of contacts entering meanwhile, resume releases them; a migration's dry run
counts contacts per node and its confirmation moves them; stop exits them all. Real worker, API, SMTP sink."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from mauntic.settings import Settings
from store.workspaces import NewWorkspace
from tests.conftest import binary, make_settings
from tests.e2e.test_journey_e2e import journey_state, segment_track
from tests.servers import SmtpSink
from workflows.search_attributes import ALL_SEARCH_ATTRIBUTES

pytestmark = pytest.mark.e2e
TEMPORAL_PORT = 7610  # this module's own dev server and the worker's simulation servers, in its port range
SIMULATION_PORTS = range(7640, 7644)


@pytest.fixture(scope="module")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=ALL_SEARCH_ATTRIBUTES,
        ui=False,
        port=TEMPORAL_PORT,
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="module")
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture
def stack_settings(database_url: str, smtp: SmtpSink) -> Settings:
    return make_settings(
        database_url,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        email_from="Team <team@example.test>",
        simulation_ports=list(SIMULATION_PORTS),
    )


def send(step_id: str, next_step: str | None = None) -> dict[str, Any]:
    return {"id": step_id, "type": "send_email", "subject": step_id, "text": "hi", "next": next_step}


def wait(step_id: str, duration: str, next_step: str) -> dict[str, Any]:
    return {"id": step_id, "type": "wait", "duration": duration, "next": next_step}


def journey(start: str, *steps: dict[str, Any]) -> dict[str, Any]:
    return {"trigger": {"event": "Signed Up"}, "start": start, "steps": list(steps)}


async def published(api: httpx.AsyncClient, definition: dict[str, Any]) -> str:
    created = await api.post("/v1/journeys", json={"name": "Control", "definition": definition})
    assert created.status_code == 201, created.text
    journey_id: str = created.json()["id"]
    assert (await api.post(f"/v1/journeys/{journey_id}/publish")).status_code == 200
    return journey_id


async def sign_up(workspace: NewWorkspace, base_url: str, *users: str) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    for user in users:
        calls.append(("identify", {"user_id": user, "traits": {"email": f"{user}@example.test"}}))
        calls.append(("track", {"user_id": user, "event": "Signed Up"}))
    assert await asyncio.to_thread(segment_track, workspace.write_key, base_url, calls) == []


async def contact_ids(api: httpx.AsyncClient, users: tuple[str, ...]) -> list[str]:
    ids = []
    for user in users:
        for _ in range(100):  # ingestion writes the contact shortly after it answered
            response = await api.get("/v1/contacts/lookup", params={"external_id": user})
            if response.status_code == 200:
                break
            await asyncio.sleep(0.05)
        assert response.status_code == 200, response.text
        ids.append(response.json()["id"])
    return ids


async def until_state(api: httpx.AsyncClient, journey_id: str, contact_id: str, **expected: Any) -> dict[str, Any]:
    for _ in range(600):
        state = await journey_state(api, journey_id, contact_id)
        if all(state.get(k) == v for k, v in expected.items()):
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"journey never reached {expected}: {state}")


async def finished(api: httpx.AsyncClient, journey_id: str, operation: dict[str, Any]) -> dict[str, Any]:
    for _ in range(600):
        response = await api.get(f"/v1/journeys/{journey_id}/operations/{operation['id']}")
        assert response.status_code == 200, response.text
        if response.json()["state"] != "running":
            return dict(response.json())
        await asyncio.sleep(0.1)
    raise AssertionError(f"operation never finished: {response.json()}")


def subjects(smtp: SmtpSink) -> list[str]:
    return sorted(str(message["Subject"]) for message in smtp.messages)


USERS = ("ann", "bob", "cy")


async def test_pause_holds_every_contact_s_sends_and_resume_releases_them(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink
) -> None:
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        journey_id = await published(
            api, journey("welcome", send("welcome", "w"), wait("w", "PT4S", "followup"), send("followup"))
        )
        await sign_up(workspace, base_url, *USERS)
        await smtp.wait_for(3)
        ids = await contact_ids(api, USERS)

        paused = await api.post(f"/v1/journeys/{journey_id}/pause")
        assert paused.status_code == 202, paused.text
        operation = paused.json()
        assert operation["action"] == "pause"
        assert operation["progress"]["total"] == 3
        done = await finished(api, journey_id, operation)
        assert done["state"] == "completed"
        assert done["progress"] == {"total": 3, "done": 3, "failed": 0}

        # the 4-second wait runs out while paused: each contact stands at its follow-up, held
        for contact_id in ids:
            state = await until_state(api, journey_id, contact_id, current_step="followup", paused=True)
            assert state["waiting_for"] == "the journey to be resumed"
        # a contact entering the paused journey starts held, before its first send
        await sign_up(workspace, base_url, "dee")
        [dee] = await contact_ids(api, ("dee",))
        await until_state(api, journey_id, dee, current_step="welcome", waiting_for="the journey to be resumed")
        assert subjects(smtp) == ["welcome"] * 3

        resumed = await api.post(f"/v1/journeys/{journey_id}/resume")
        assert resumed.status_code == 202, resumed.text
        assert (await finished(api, journey_id, resumed.json()))["progress"]["done"] == 4
        await smtp.wait_for(8)
        for contact_id in [*ids, dee]:
            await until_state(api, journey_id, contact_id, status="completed")
        assert subjects(smtp) == ["followup"] * 4 + ["welcome"] * 4


async def test_a_migration_dry_run_counts_and_its_confirmation_moves_contacts(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink
) -> None:
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        v1 = journey("welcome", send("welcome", "w1"), wait("w1", "P1D", "old_followup"), send("old_followup"))
        journey_id = await published(api, v1)
        users = ("eve", "fay")
        await sign_up(workspace, base_url, *users)
        ids = await contact_ids(api, users)
        for contact_id in ids:
            await until_state(api, journey_id, contact_id, current_step="w1")
        v2 = journey("hello", send("hello", "w2"), wait("w2", "PT1S", "new_followup"), send("new_followup"))
        assert (await api.patch(f"/v1/journeys/{journey_id}", json={"definition": v2})).status_code == 200
        assert (await api.post(f"/v1/journeys/{journey_id}/publish")).json()["published_version"] == 2

        plan = {"from_version": 1, "to_version": 2, "node_map": {"w1": "w2"}}
        for _ in range(100):  # visibility is eventually consistent
            dry = await api.post(f"/v1/journeys/{journey_id}/migrate", json=plan)
            assert dry.status_code == 200, dry.text
            if dry.json()["total"] == 2:
                break
            await asyncio.sleep(0.1)
        report = dry.json()
        assert report["dry_run"] is True
        assert report["operation"] is None
        assert {n["node"]: (n["contacts"], n["fate"], n["target"]) for n in report["nodes"]} == {
            "welcome": (0, "exits", None),
            "w1": (2, "moves", "w2"),
            "old_followup": (0, "exits", None),
        }
        assert report["mapped"] == ["w1"]
        assert report["unmapped"] == ["welcome", "old_followup"]

        invalid = await api.post(f"/v1/journeys/{journey_id}/migrate", json={**plan, "node_map": {"w1": "nowhere"}})
        assert invalid.status_code == 422
        assert invalid.json()["error"]["code"] == "migration_unknown_target"
        assert invalid.json()["error"]["details"]["node"] == "nowhere"
        for contact_id in ids:  # the dry runs changed nothing
            assert (await journey_state(api, journey_id, contact_id))["version"] == 1

        confirmed = await api.post(f"/v1/journeys/{journey_id}/migrate", json={**plan, "dry_run": False})
        assert confirmed.status_code == 202, confirmed.text
        assert (await finished(api, journey_id, confirmed.json()["operation"]))["progress"]["done"] == 2
        for contact_id in ids:
            state = await until_state(api, journey_id, contact_id, status="completed")
            assert state["version"] == 2
        assert subjects(smtp) == ["new_followup"] * 2 + ["welcome"] * 2


async def test_stop_archives_the_journey_and_exits_every_running_contact(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink
) -> None:
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        journey_id = await published(
            api, journey("welcome", send("welcome", "w"), wait("w", "P3D", "followup"), send("followup"))
        )
        users = ("gus", "hal")
        await sign_up(workspace, base_url, *users)
        ids = await contact_ids(api, users)
        for contact_id in ids:
            await until_state(api, journey_id, contact_id, current_step="w")

        for _ in range(100):  # visibility is eventually consistent
            exiting = (
                await api.post(f"/v1/journeys/{journey_id}/migrate", json={"from_version": 1, "exit": True})
            ).json()
            if exiting["total"] == 2:
                break
            await asyncio.sleep(0.1)
        assert (exiting["exit"], exiting["to_version"], exiting["operation"]) == (True, None, None)
        assert {n["node"]: (n["contacts"], n["fate"]) for n in exiting["nodes"]} == {
            "welcome": (0, "exits"),
            "w": (2, "exits"),
            "followup": (0, "exits"),
        }

        stopped = await api.post(f"/v1/journeys/{journey_id}/stop", json={"reason": "campaign withdrawn"})
        assert stopped.status_code == 202, stopped.text
        await finished(api, journey_id, stopped.json())
        for contact_id in ids:
            state = await until_state(api, journey_id, contact_id, status="exited")
            assert state["exit"]["kind"] == "stop"
            assert state["exit"]["reason"] == "campaign withdrawn"
        assert (await api.get(f"/v1/journeys/{journey_id}")).json()["status"] == "archived"
        assert subjects(smtp) == ["welcome"] * 2

        # nobody is left: an operation over no contacts completes at once
        resumed = await api.post(f"/v1/journeys/{journey_id}/resume")
        assert resumed.status_code == 202, resumed.text
        assert (await finished(api, journey_id, resumed.json()))["progress"] == {"total": 0, "done": 0, "failed": 0}

        elsewhere = await api.get(f"/v1/journeys/{journey_id}/operations/jr_other.pause.abc")
        assert elsewhere.status_code == 404


CART = journey(
    "remind_later",
    wait("remind_later", "PT2H", "bought"),
    {
        "id": "bought",
        "type": "wait_for_event",
        "event": "Order Completed",
        "timeout": "P1D",
        "on_event": "thanks",
        "on_timeout": "reminder",
    },
    send("thanks"),
    send("reminder"),
)


async def test_a_simulation_answers_the_exact_timeline_and_sends_nothing(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink
) -> None:
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=90) as api:
        created = await api.post("/v1/journeys", json={"name": "Cart", "definition": CART})
        journey_id = created.json()["id"]  # a draft: simulated before it is ever published
        body = {
            "contact": {"attributes": {"first_name": "Ada"}, "timezone": "Europe/Berlin"},
            "events": [{"at": "+PT5H", "name": "Order Completed", "properties": {"total": 42}}],
            "until": "P30D",
        }
        answer = await api.post(f"/v1/journeys/{journey_id}/simulate", json=body)
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["engine"] == "time-skipping test server"
        assert result["status"] == "completed"
        assert result["version"] is None
        assert [(row["node"], row["outcome"]) for row in result["timeline"]] == [
            ("remind_later", "waited"),
            ("bought", "event"),
            ("thanks", "sent"),
        ]
        assert [(send["channel"], send["node"]) for send in result["sends"]] == [("email", "thanks")]

        untimely = await api.post(f"/v1/journeys/{journey_id}/simulate", json={"events": [], "until": "P2D"})
        assert [row["node"] for row in untimely.json()["sends"]] == ["reminder"]

        too_long = await api.post(f"/v1/journeys/{journey_id}/simulate", json={"until": "P401D"})
        assert too_long.status_code == 422
        past = await api.post(
            f"/v1/journeys/{journey_id}/simulate",
            json={"events": [{"at": "2020-01-01T00:00:00Z", "name": "Order Completed"}]},
        )
        assert past.status_code == 422
        assert past.json()["error"]["code"] == "simulation_event_in_past"
        many = [{"at": "+PT1M", "name": "x"}] * 1001
        assert (await api.post(f"/v1/journeys/{journey_id}/simulate", json={"events": many})).status_code == 422
    assert smtp.messages == []
