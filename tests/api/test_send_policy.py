"""The workspace send policy through the API (GET/PUT /v1/workspace/send-policy), a journey's own send_policy in
its definition, and publishing refusing an SMS or push step for a workspace without a provider on that channel."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.test_providers import TWILIO

POLICY = {
    "caps": [{"channel": "email", "limit": 3, "window": "P7D"}],
    "quiet_hours": {"start": "21:00", "end": "08:00"},
}


async def test_the_workspace_policy_is_empty_until_set_then_replaced_whole(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    empty = await client.get("/v1/workspace/send-policy", headers=admin_headers)
    assert empty.status_code == 200
    assert empty.json() == {"caps": [], "quiet_hours": None}

    put = await client.put("/v1/workspace/send-policy", headers=admin_headers, json=POLICY)
    assert put.status_code == 200, put.text
    assert put.json() == POLICY
    assert (await client.get("/v1/workspace/send-policy", headers=admin_headers)).json() == POLICY

    cleared = await client.put("/v1/workspace/send-policy", headers=admin_headers, json={"caps": []})
    assert cleared.json() == {"caps": [], "quiet_hours": None}
    assert (await client.get("/v1/workspace/send-policy", headers=admin_headers)).json()["caps"] == []


async def test_a_bad_policy_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await client.put("/v1/workspace/send-policy", headers=admin_headers, json=POLICY)
    for bad in (
        {"caps": [{"channel": "fax", "limit": 1, "window": "P1D"}]},
        {"caps": [{"channel": "email", "limit": 0, "window": "P1D"}]},
        {"caps": [{"channel": "email", "limit": 1, "window": "7d"}]},
        {"quiet_hours": {"start": "24:00", "end": "08:00"}},
        {"caps": [], "surprise": True},
    ):
        response = await client.put("/v1/workspace/send-policy", headers=admin_headers, json=bad)
        assert response.status_code == 422, (bad, response.text)
    assert (await client.get("/v1/workspace/send-policy", headers=admin_headers)).json() == POLICY


async def test_reading_needs_a_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/workspace/send-policy")).status_code == 401


def _sms_journey(send_policy: dict[str, Any] | None = None) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "trigger": {"event": "Cart Abandoned"},
        "start": "remind",
        "steps": [
            {"id": "remind", "type": "send_sms", "body": "Your cart misses you, {{ contact.first_name }}",
             "next": "ping"},
            {"id": "ping", "type": "send_push", "title": "Still there?", "data": {"cart": "{{ contact.id }}"}},
        ],
    }  # fmt: skip
    if send_policy is not None:
        definition["send_policy"] = send_policy
    return {"name": "Cart", "definition": definition}


async def test_publishing_an_sms_step_needs_an_sms_provider_and_a_push_step_a_push_one(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await client.post("/v1/journeys", headers=admin_headers, json=_sms_journey())
    assert created.status_code == 201, created.text
    journey_id = created.json()["id"]

    refused = await client.post(f"/v1/journeys/{journey_id}/publish", headers=admin_headers)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert (error["code"], error["details"]["node"]) == ("unknown_channel", "remind")
    assert "sms provider" in error["message"]

    sms = {"name": "sms", "type": "twilio", "channel": "sms", "config": TWILIO}
    assert (await client.post("/v1/providers", headers=admin_headers, json=sms)).status_code == 201
    still = await client.post(f"/v1/journeys/{journey_id}/publish", headers=admin_headers)
    assert still.status_code == 422
    assert (still.json()["error"]["code"], still.json()["error"]["details"]["node"]) == ("unknown_channel", "ping")


async def test_a_journey_carries_its_own_send_policy(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    own = {"caps": [{"channel": "sms", "limit": 1, "window": "P1D"}], "on_capped": "skip", "quiet_hours": None}
    created = await client.post("/v1/journeys", headers=admin_headers, json=_sms_journey(own))
    assert created.status_code == 201, created.text
    assert created.json()["definition"]["send_policy"] == {"caps": own["caps"], "on_capped": "skip"}  # nulls dropped

    bad = _sms_journey({"caps": None, "on_capped": "later"})
    refused = await client.post("/v1/journeys", headers=admin_headers, json=bad)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["node"] == "send_policy"
