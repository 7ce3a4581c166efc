"""Outbound webhooks end to end: an identify through the ingestion API becomes a signed contact.created delivery at
a sink on loopback (real dispatcher, real Temporal worker, real database); a failing sink gets retried, every
attempt recorded, until it answers 2xx; a redelivery carries the same webhook-id."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from standardwebhooks import Webhook

from drills.webhook_sink import WebhookSink, fail_first
from mauntic.settings import Settings
from store.workspaces import NewWorkspace
from tests.conftest import make_settings
from tests.servers import SmtpSink

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack_settings(database_url: str, smtp: SmtpSink) -> Settings:
    return make_settings(
        database_url, smtp_host=smtp.host, smtp_port=smtp.port, webhook_retry_scale=0.02, dispatch_poll_seconds=0.2
    )


async def _wait(predicate, seconds: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + seconds
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.1)


def _api(base_url: str, workspace: NewWorkspace) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {workspace.api_key}"}, timeout=30)


async def _subscribe(api: httpx.AsyncClient, url: str, types: list[str]) -> dict[str, str]:
    answer = await api.post("/v1/webhook-endpoints", json={"url": url, "event_types": types})
    assert answer.status_code == 201, answer.text
    body: dict[str, str] = answer.json()
    return body


async def test_identify_is_delivered_signed_as_contact_created(base_url: str, workspace: NewWorkspace) -> None:
    async with WebhookSink().running() as sink:
        async with httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {workspace.api_key}"}, timeout=30
        ) as api:
            endpoint = await _subscribe(api, sink.url, ["contact.created", "contact.updated"])
            ingest = await api.post(
                "/v1/identify",
                json={"userId": "u-hook", "traits": {"email": "hook@example.com", "first_name": "Hugo"}},
                auth=(workspace.write_key, ""),
            )
            assert ingest.status_code == 200, ingest.text
            await _wait(lambda: len(sink.accepted) >= 1)
            request = sink.requests[0]
            payload = Webhook(endpoint["secret"]).verify(request.body, request.headers)
            assert payload["type"] == "contact.created"
            assert payload["data"]["contact"]["email"] == "hook@example.com"
            assert payload["data"]["contact"]["first_name"] == "Hugo"

            deliveries = (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries")).json()["data"]
            assert [d["id"] for d in deliveries] == [request.headers["webhook-id"]]
            detail = (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/{deliveries[0]['id']}")).json()
            assert detail["status"] == "delivered"
            assert [(a["attempt"], a["status_code"]) for a in detail["attempt_log"]] == [(1, 200)]

            again = await api.post(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/{deliveries[0]['id']}/redeliver")
            assert again.status_code == 202, again.text
            await _wait(lambda: len(sink.requests) >= 2)
            assert sink.requests[1].headers["webhook-id"] == request.headers["webhook-id"]
            assert sink.requests[1].body == request.body
            Webhook(endpoint["secret"]).verify(sink.requests[1].body, sink.requests[1].headers)


async def test_a_failing_sink_is_retried_with_every_attempt_recorded(base_url: str, workspace: NewWorkspace) -> None:
    async with WebhookSink(status_for=fail_first(2, 503)).running() as sink:
        async with httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {workspace.api_key}"}, timeout=30
        ) as api:
            endpoint = await _subscribe(api, sink.url, ["contact.created"])
            ingest = await api.post(
                "/v1/identify", json={"userId": "u-retry", "traits": {"email": "retry@example.com"}},
                auth=(workspace.write_key, ""),
            )  # fmt: skip
            assert ingest.status_code == 200
            await _wait(lambda: len(sink.accepted) == 1)
            msg_id = sink.requests[0].headers["webhook-id"]
            assert [r.headers["webhook-id"] for r in sink.requests] == [msg_id] * 3
            for r in sink.requests:
                Webhook(endpoint["secret"]).verify(r.body, r.headers)

            async def detail() -> dict[str, object]:
                answer = await api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/{msg_id}")
                body: dict[str, object] = answer.json()
                return body

            for _ in range(50):
                found = await detail()
                if found["status"] == "delivered":
                    break
                await asyncio.sleep(0.1)
            assert found["status"] == "delivered"
            log = found["attempt_log"]
            assert isinstance(log, list)
            assert [(a["attempt"], a["status_code"]) for a in log] == [(1, 503), (2, 503), (3, 200)]
            assert log[0]["error"].startswith("HTTP 503")
            assert all(a["latency_ms"] > 0 for a in log)
            assert json.loads(sink.requests[2].body)["type"] == "contact.created"


async def test_unsubscribed_types_deliver_nothing(base_url: str, workspace: NewWorkspace) -> None:
    async with WebhookSink().running() as sink:
        async with httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {workspace.api_key}"}, timeout=30
        ) as api:
            await _subscribe(api, sink.url, ["message.bounced"])
            await api.post("/v1/identify", json={"userId": "u-none", "traits": {"email": "n@example.com"}},
                           auth=(workspace.write_key, ""))  # fmt: skip
            await asyncio.sleep(2.0)
            assert sink.requests == []


JOURNEY: dict[str, object] = {
    "trigger": {"event": "Signed Up"},
    "start": "welcome",
    "steps": [
        {"id": "welcome", "type": "send_email", "subject": "Welcome", "text": "Hi.", "next": "done"},
        {"id": "done", "type": "end"},
    ],
}


async def test_a_journey_entry_its_send_and_its_completion_are_delivered_signed(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink
) -> None:
    async with WebhookSink().running() as sink:
        async with _api(base_url, workspace) as api:
            types = ["journey.entered", "message.sent", "journey.completed"]
            endpoint = await _subscribe(api, sink.url, types)
            journey_id = (await api.post("/v1/journeys", json={"name": "J", "definition": JOURNEY})).json()["id"]
            assert (await api.post(f"/v1/journeys/{journey_id}/publish")).status_code == 200
            write = (workspace.write_key, "")
            identify = {"userId": "u-journey", "traits": {"email": "journey@example.com"}}
            assert (await api.post("/v1/identify", json=identify, auth=write)).status_code == 200
            track = await api.post("/v1/track", json={"userId": "u-journey", "event": "Signed Up"}, auth=write)
            assert track.status_code == 200, track.text
            await _wait(lambda: len(sink.accepted) >= 3)
            await smtp.wait_for(1)
            payloads = {}
            for request in sink.requests:
                payload = Webhook(endpoint["secret"]).verify(request.body, request.headers)
                payloads[payload["type"]] = payload
            contact_id = (await api.get("/v1/contacts/lookup", params={"external_id": "u-journey"})).json()["id"]

            entered = payloads["journey.entered"]["data"]
            assert entered["journey_id"] == journey_id
            assert entered["contact_id"] == contact_id
            assert entered["properties"]["version"] == 1
            assert entered["event_id"] == f"{journey_id}:{contact_id}"
            assert entered["properties"]["workflow_id"] == f"journey:{workspace.workspace.id}:{journey_id}:{contact_id}"

            sent = payloads["message.sent"]["data"]
            assert sent["channel"] == "email"
            assert sent["contact_id"] == contact_id
            assert sent["journey_id"] == journey_id
            assert sent["step_id"] == "welcome"
            assert sent["message_id"] == sent["event_id"]
            message = (await api.get(f"/v1/messages/{sent['message_id']}")).json()
            assert message["status"] == "sent"

            completed = payloads["journey.completed"]["data"]
            assert (completed["journey_id"], completed["contact_id"]) == (journey_id, contact_id)
            assert completed["event_id"] == entered["event_id"]  # the (journey, contact) execution
            assert completed["properties"]["last_step"] == "done"

            await asyncio.sleep(1.0)  # nothing more comes: one delivery per entry, send and completion
            assert sorted(json.loads(r.body)["type"] for r in sink.requests) == sorted(types)
