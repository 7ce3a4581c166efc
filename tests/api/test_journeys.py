from __future__ import annotations

import copy
from typing import Any

import httpx

from api.app import create_app
from domain.journeys.runtime import journey_workflow_id
from mauntic.temporal import TemporalGateway
from store.journeys import enroll
from store.models import JourneyEnrollment
from store.workspaces import NewWorkspace
from tests.conftest import make_settings
from tests.servers import free_port

DEFINITION: dict[str, Any] = {
    "trigger": {"event": "Signed Up"},
    "start": "hello",
    "steps": [
        {"id": "hello", "type": "send_email", "subject": "Hi {{ contact.first_name }}", "text": "x", "next": "pause"},
        {"id": "pause", "type": "wait", "duration": "P3D", "next": "bye"},
        {"id": "bye", "type": "end"},
    ],
}


async def _journeys(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = (await client.get("/v1/journeys", headers=headers)).json()["data"]
    return data


async def test_create_and_publish_versions(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    created = await client.post(
        "/v1/journeys", headers=admin_headers, json={"name": "Welcome", "definition": DEFINITION}
    )
    assert created.status_code == 201, created.text
    journey = created.json()
    assert journey["status"] == "draft"
    assert journey["published_version"] is None
    assert journey["definition"]["steps"][1]["duration"] == "P3D"

    first = await client.post(f"/v1/journeys/{journey['id']}/publish", headers=admin_headers)
    assert first.json()["status"] == "published"
    assert first.json()["published_version"] == 1
    edited = copy.deepcopy(DEFINITION)
    edited["steps"][1]["duration"] = "P1D"
    patched = await client.patch(f"/v1/journeys/{journey['id']}", headers=admin_headers, json={"definition": edited})
    assert patched.status_code == 200, patched.text
    second = await client.post(f"/v1/journeys/{journey['id']}/publish", headers=admin_headers)
    assert second.json()["published_version"] == 2
    unchanged = await client.post(f"/v1/journeys/{journey['id']}/publish", headers=admin_headers)
    assert unchanged.status_code == 200, unchanged.text
    assert unchanged.json()["published_version"] == 2  # the same definition makes no new version

    archived = await client.post(f"/v1/journeys/{journey['id']}/archive", headers=admin_headers)
    assert archived.json()["status"] == "archived"
    again = await client.post(f"/v1/journeys/{journey['id']}/publish", headers=admin_headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "journey_archived"


async def test_invalid_definitions_name_the_bad_node(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    unknown_type = copy.deepcopy(DEFINITION)
    unknown_type["steps"][1] = {"id": "pause", "type": "teleport", "next": "bye"}
    dangling = copy.deepcopy(DEFINITION)
    dangling["steps"][0]["next"] = "nowhere"
    bad_template = copy.deepcopy(DEFINITION)
    bad_template["steps"][0]["subject"] = "Hi {{ contact.first_name "
    cases = [
        (unknown_type, "unknown_step_type", "pause"),
        (dangling, "unknown_step_reference", "hello"),
        (bad_template, "invalid_template", "hello"),
    ]
    for definition, code, node in cases:
        response = await client.post(
            "/v1/journeys", headers=admin_headers, json={"name": "x", "definition": definition}
        )
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == code
        assert error["details"]["node"] == node
        assert node in error["message"]
    assert await _journeys(client, admin_headers) == []


async def test_state_of_a_contact_not_in_the_journey_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await client.post("/v1/journeys", headers=admin_headers, json={"name": "W", "definition": DEFINITION})
    response = await client.get(f"/v1/journeys/{created.json()['id']}/contacts/ct_nobody", headers=admin_headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "journey_enrollment_not_found"
    missing = await client.get("/v1/journeys/jr_missing", headers=admin_headers)
    assert missing.json()["error"]["code"] == "journey_not_found"


async def test_a_definition_over_256_kb_is_refused_on_create_and_update(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Such a journey used to publish, then every entering contact's workflow failed its first task forever."""
    huge = copy.deepcopy(DEFINITION)
    huge["steps"][0]["text"] = "x" * (300 * 1024)
    response = await client.post("/v1/journeys", headers=admin_headers, json={"name": "Huge", "definition": huge})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "definition_too_large"
    created = await client.post("/v1/journeys", headers=admin_headers, json={"name": "Fine", "definition": DEFINITION})
    journey_id = created.json()["id"]
    response = await client.patch(f"/v1/journeys/{journey_id}", headers=admin_headers, json={"definition": huge})
    assert (response.status_code, response.json()["error"]["code"]) == (422, "definition_too_large")
    assert (await client.get(f"/v1/journeys/{journey_id}", headers=admin_headers)).json()["definition"]["steps"][0][
        "text"
    ] == "x"


async def test_the_state_endpoint_is_503_only_when_temporal_cannot_be_reached(
    database_url: str, workspace: NewWorkspace
) -> None:
    settings = make_settings(database_url, temporal_address=f"127.0.0.1:{free_port()}")
    app = create_app(settings, TemporalGateway(settings))
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as client:
            body = {"name": "J", "definition": DEFINITION}
            journey_id = (await client.post("/v1/journeys", json=body)).json()["id"]
            contact_id = (await client.post("/v1/contacts", json={"email": "down@example.test"})).json()["id"]
            async with app.state.context.sessions() as session:
                await enroll(
                    session,
                    JourneyEnrollment(
                        workspace_id=workspace.workspace.id,
                        journey_id=journey_id,
                        contact_id=contact_id,
                        version=1,
                        workflow_id=journey_workflow_id(workspace.workspace.id, journey_id, contact_id),
                        trigger_event_id="evt",
                    ),
                )
                await session.commit()
            response = await client.get(f"/v1/journeys/{journey_id}/contacts/{contact_id}")
    assert (response.status_code, response.json()["error"]["code"]) == (503, "temporal_unavailable")
