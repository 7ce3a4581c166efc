"""Publishing checks a webhook step's endpoint: an endpoint id the workspace has, or the URL of one of its
endpoints; anything else is a 422 naming the node."""

from __future__ import annotations

from typing import Any

import httpx


def _journey(**hook: Any) -> dict[str, Any]:
    return {
        "trigger": {"event": "signed_up"},
        "start": "crm",
        "steps": [{"id": "crm", "type": "webhook", "wait_for_response": True, "branches": {"2xx": "done"}, **hook},
                  {"id": "done", "type": "end"}],
    }  # fmt: skip


async def _publish(client: httpx.AsyncClient, headers: dict[str, str], definition: dict[str, Any]) -> httpx.Response:
    created = await client.post("/v1/journeys", headers=headers, json={"name": "Hook", "definition": definition})
    assert created.status_code == 201, created.text
    return await client.post(f"/v1/journeys/{created.json()['id']}/publish", headers=headers)


async def test_publish_checks_the_webhook_endpoint(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    url = "https://hooks.example.com/journeys"
    endpoint = await client.post(
        "/v1/webhook-endpoints", headers=admin_headers, json={"url": url, "event_types": ["journey.completed"]}
    )
    assert endpoint.status_code == 201, endpoint.text

    unknown = await _publish(client, admin_headers, _journey(endpoint_id="whep_nope"))
    assert unknown.status_code == 422
    error = unknown.json()["error"]
    assert (error["code"], error["details"]["node"]) == ("unknown_webhook_endpoint", "crm")
    assert "endpoint_id" in error["message"]
    unknown_url = await _publish(client, admin_headers, _journey(url="https://elsewhere.example.com/in"))
    assert unknown_url.json()["error"]["code"] == "unknown_webhook_endpoint"

    by_id = await _publish(client, admin_headers, _journey(endpoint_id=endpoint.json()["id"]))
    by_url = await _publish(client, admin_headers, _journey(url=url))
    assert (by_id.status_code, by_url.status_code) == (200, 200)
