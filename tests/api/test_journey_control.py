"""The control, migration and simulation routes' own answers: what they refuse before Temporal is asked, and how
an engine failure reads. The batch operations and simulations themselves run in
tests/e2e/test_journey_control_e2e.py (dev server) and tests/workflows/test_journey_simulation.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError, RetryState, TimeoutError, TimeoutType

from api.app import create_app
from api.journeys.control import running_query
from api.journeys.simulation import _failure
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway

STEPS: list[dict[str, Any]] = [
    {"id": "welcome", "type": "send_email", "subject": "Hi", "text": "hi", "next": "w1"},
    {"id": "w1", "type": "wait", "duration": "P1D", "next": "bye"},
    {"id": "bye", "type": "send_email", "subject": "Bye", "text": "bye"},
]
V1 = {"trigger": {"event": "Signed Up"}, "start": "welcome", "steps": STEPS}
V2 = {**V1, "steps": [{**STEPS[0], "next": "w2"}, {**STEPS[1], "id": "w2"}, STEPS[2]]}


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """No Temporal at all (its address points nowhere): everything here is answered before it is asked."""
    application = create_app(settings, TemporalGateway(settings))
    async with application.router.lifespan_context(application):
        yield application


async def two_versions(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    created = await client.post("/v1/journeys", json={"name": "Versions", "definition": V1}, headers=headers)
    journey_id: str = created.json()["id"]
    assert (await client.post(f"/v1/journeys/{journey_id}/publish", headers=headers)).status_code == 200
    patched = await client.patch(f"/v1/journeys/{journey_id}", json={"definition": V2}, headers=headers)
    assert patched.status_code == 200
    assert (await client.post(f"/v1/journeys/{journey_id}/publish", headers=headers)).json()["published_version"] == 2
    return journey_id


async def migrate(client: httpx.AsyncClient, headers: dict[str, str], journey_id: str, **body: Any) -> httpx.Response:
    return await client.post(f"/v1/journeys/{journey_id}/migrate", json=body, headers=headers)


async def test_a_map_naming_a_node_the_new_version_lacks_is_422_naming_it(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    journey_id = await two_versions(client, admin_headers)

    answer = await migrate(client, admin_headers, journey_id, from_version=1, to_version=2, node_map={"w1": "w9"})

    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "migration_unknown_target"
    assert error["details"]["node"] == "w9"


async def test_a_map_naming_a_node_the_old_version_lacks_is_422_naming_it(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    journey_id = await two_versions(client, admin_headers)

    node_map = {"w2": "w2", "w1": "nowhere"}
    answer = await migrate(client, admin_headers, journey_id, from_version=1, to_version=2, node_map=node_map)

    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "migration_unknown_node"
    assert error["details"]["node"] == "w2"
    assert [i["node"] for i in error["details"]["invalid"]] == ["w2", "nowhere"]  # every problem, not only the first


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"from_version": 1}, 422, "migration_target_missing"),
        ({"from_version": 2, "to_version": 2}, 422, "migration_same_version"),
        ({"from_version": 7, "to_version": 2}, 404, "journey_version_not_found"),
        ({"from_version": 1, "to_version": 7}, 404, "journey_version_not_found"),
        ({"from_version": 1, "to_version": 2, "unmapped": "vanish"}, 422, "validation_error"),
        ({"from_version": 0, "to_version": 2}, 422, "validation_error"),
    ],
)
async def test_a_migration_without_a_valid_pair_of_versions_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], body: dict[str, Any], status: int, code: str
) -> None:
    journey_id = await two_versions(client, admin_headers)

    answer = await migrate(client, admin_headers, journey_id, **body)

    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code


async def test_control_of_an_unknown_journey_is_404(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    for action in ("pause", "resume", "stop"):
        answer = await client.post(f"/v1/journeys/jr_nope/{action}", headers=admin_headers)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "journey_not_found"


async def test_an_operation_of_another_journey_is_not_found(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    journey_id = await two_versions(client, admin_headers)

    for operation_id in ("jr_other.pause.0123456789ab", "garbage", f"{journey_id}.pause"):
        answer = await client.get(f"/v1/journeys/{journey_id}/operations/{operation_id}", headers=admin_headers)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "journey_operation_not_found"


def test_the_visibility_query_selects_the_journey_s_running_contacts_and_quotes_its_values() -> None:
    assert running_query("jr_1") == "MaunticJourney = 'jr_1' AND ExecutionStatus = 'Running'"
    assert running_query("jr_1", 2, "it's") == (
        "MaunticJourney = 'jr_1' AND MaunticJourneyVersion = 2 AND MaunticStep = 'it\\'s'"
        " AND ExecutionStatus = 'Running'"
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"until": "P401D"}, "validation_error"),
        ({"until": "30 days"}, "validation_error"),
        ({"events": [{"at": "+PT1M", "name": "x"}] * 1001}, "validation_error"),
        ({"contact": {"timezone": "Mars/Olympus"}}, "validation_error"),
        ({"events": [{"at": "2020-01-01T00:00:00Z", "name": "x"}]}, "simulation_event_in_past"),
        ({"events": [{"at": "tomorrow", "name": "x"}]}, "simulation_event_invalid"),
    ],
)
async def test_a_simulation_out_of_bounds_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], body: dict[str, Any], code: str
) -> None:
    journey_id = await two_versions(client, admin_headers)

    answer = await client.post(f"/v1/journeys/{journey_id}/simulate", json=body, headers=admin_headers)

    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == code


def activity_failed(cause: BaseException) -> WorkflowFailureError:
    error = ActivityError(
        "activity failed",
        scheduled_event_id=5,
        started_event_id=6,
        identity="worker",
        activity_type="journeys.simulate",
        activity_id="1",
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )
    error.__cause__ = cause
    return WorkflowFailureError(cause=error)


def test_an_engine_without_its_binary_answers_503_simulation_unavailable() -> None:
    error = _failure(activity_failed(ApplicationError("no binary", type="SimulationUnavailable")))
    assert (error.status_code, error.code) == (503, "simulation_unavailable")


def test_a_simulation_past_its_budget_answers_504_simulation_timeout() -> None:
    for cause in (
        ApplicationError("too long", type="SimulationTimeout"),
        TimeoutError("timed out", type=TimeoutType.START_TO_CLOSE, last_heartbeat_details=[]),
    ):
        error = _failure(activity_failed(cause))
        assert (error.status_code, error.code) == (504, "simulation_timeout")
