"""The webhook step's activities against a real database and loopback receivers: a waited call is signed with the
endpoint's secret under the step's idempotency key and answers its status class (2xx, 4xx, 5xx, timeout, error);
fire-and-forget queues one delivery on the durable path, which the delivery activity then sends."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from activities.journeys.versions import JourneyVersions
from activities.webhooks.contracts import DeliverDueInput, JourneyWebhookInput
from activities.webhooks.delivery import WebhookDeliveryActivities
from activities.webhooks.journey_step import JourneyWebhookActivities
from activities.webhooks.transport import webhook_http_client
from domain.ids import new_id
from domain.outbound_webhooks.signing import new_secret, signature
from drills.webhook_sink import WebhookSink
from mauntic.secrets import SecretBox
from store.db import create_async_db_engine, session_factory
from store.models import Contact
from store.models_webhooks import WebhookDelivery, WebhookEndpoint
from store.workspaces import NewWorkspace
from tests.activities.journey_rows import company, contact, published
from tests.conftest import TEST_SECRET_KEY

BOX = SecretBox(TEST_SECRET_KEY)
SINK_PORT = 7410  # this suite's loopback ports: 7410 the receiver, 7411 one that never answers
SILENT_PORT = 7411


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_db_engine(database_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def sink() -> AsyncIterator[WebhookSink]:
    async with WebhookSink(port=SINK_PORT).running() as running:
        yield running


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[str]:
    """Accepts connections and never answers: a receiver that times out."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", SILENT_PORT)
    try:
        yield f"http://127.0.0.1:{SILENT_PORT}/hook"
    finally:
        for writer in held:
            writer.close()
        server.close()


@contextlib.asynccontextmanager
async def hook_activities(
    sessions: async_sessionmaker[AsyncSession], woken: list[str] | None = None
) -> AsyncIterator[JourneyWebhookActivities]:
    async def wake(reason: str) -> None:
        if woken is not None:
            woken.append(reason)

    async with webhook_http_client(private_networks_allowed=True, timeout_seconds=5, max_connections=4) as http:
        yield JourneyWebhookActivities(sessions, JourneyVersions(), http, BOX, wake)


async def _endpoint(
    sessions: async_sessionmaker[AsyncSession], workspace_id: str, url: str, *, enabled: bool = True
) -> tuple[str, str]:
    secret = new_secret()
    endpoint = WebhookEndpoint(id=new_id("whep"), workspace_id=workspace_id, url=url, event_types=[],
                               secret_encrypted=BOX.encrypt(secret), enabled=enabled)  # fmt: skip
    async with sessions() as session:
        session.add(endpoint)
        await session.commit()
    return endpoint.id, secret


async def _request(
    sessions: async_sessionmaker[AsyncSession], workspace_id: str, step: dict[str, Any]
) -> JourneyWebhookInput:
    journey_id = await published(sessions, workspace_id, [{"id": "crm", "type": "webhook", **step}])
    contact_id = await contact(sessions, workspace_id, email="ada@example.com", first_name="Ada",
                               attributes={"plan": "pro"})  # fmt: skip
    return JourneyWebhookInput(
        workspace_id=workspace_id, journey_id=journey_id, version=1, step_id="crm", contact_id=contact_id,
        idempotency_key=f"journey:{workspace_id}:{journey_id}:{contact_id}:crm",
    )  # fmt: skip


async def test_a_waited_call_is_signed_under_the_idempotency_key_and_answers_2xx(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace, sink: WebhookSink
) -> None:
    ws = workspace.workspace.id
    endpoint_id, secret = await _endpoint(sessions, ws, sink.url)
    step = {
        "endpoint_id": endpoint_id, "method": "PUT", "wait_for_response": True,
        "headers": {"X-Plan": "{{ contact.plan }}"},
        "body": {"email": "{{ contact.email }}", "tags": ["{{ contact.first_name }}", 3]},
    }  # fmt: skip
    request = await _request(sessions, ws, step)

    async with hook_activities(sessions) as activities:
        answer = await ActivityEnvironment().run(activities.call, request)

    assert (answer.status_class, answer.status_code, answer.endpoint_id, answer.error) == (
        "2xx",
        200,
        endpoint_id,
        None,
    )
    assert answer.latency_ms > 0
    [received] = sink.requests
    assert json.loads(received.body) == {"email": "ada@example.com", "tags": ["Ada", 3]}
    assert received.headers["webhook-id"] == request.idempotency_key
    assert received.headers["x-plan"] == "pro"
    expected = signature(secret, request.idempotency_key, int(received.headers["webhook-timestamp"]), received.body)
    assert received.headers["webhook-signature"] == expected


async def test_the_body_sees_the_contacts_company(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace, sink: WebhookSink
) -> None:
    ws = workspace.workspace.id
    endpoint_id, _ = await _endpoint(sessions, ws, sink.url)
    body = {"account": "{{ company.name }}", "tier": "{{ company.attributes.tier }}", "id": "{{ company.id }}"}
    step = {"endpoint_id": endpoint_id, "wait_for_response": True, "body": body}
    request = await _request(sessions, ws, step)
    acme = await company(sessions, ws, name="Acme", attributes={"tier": "gold"})
    async with sessions() as session:
        found = await session.get(Contact, request.contact_id)
        assert found is not None
        found.company_id = acme
        await session.commit()

    async with hook_activities(sessions) as activities:
        answer = await ActivityEnvironment().run(activities.call, request)

    assert answer.status_class == "2xx"
    [received] = sink.requests
    assert json.loads(received.body) == {"account": "Acme", "tier": "gold", "id": acme}


@pytest.mark.parametrize(("code", "status_class"), [(503, "5xx"), (404, "4xx"), (302, "error")])
async def test_a_waited_call_answers_the_status_class(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace, sink: WebhookSink, code: int, status_class: str
) -> None:
    sink.status_for = lambda _r, _n: code
    endpoint_id, _ = await _endpoint(sessions, workspace.workspace.id, sink.url)
    request = await _request(sessions, workspace.workspace.id, {"endpoint_id": endpoint_id, "wait_for_response": True})

    async with hook_activities(sessions) as activities:
        answer = await ActivityEnvironment().run(activities.call, request)

    assert (answer.status_class, answer.status_code) == (status_class, code)
    body = json.loads(sink.requests[0].body)  # the default body: journey, step and contact
    assert (body["type"], body["data"]["step_id"], body["data"]["contact"]["email"]) == (
        "journey.webhook", "crm", "ada@example.com",
    )  # fmt: skip


async def test_a_receiver_that_does_not_answer_in_time_is_a_timeout(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    async with silent_server() as url:
        endpoint_id, _ = await _endpoint(sessions, workspace.workspace.id, url)
        step = {"endpoint_id": endpoint_id, "wait_for_response": True, "timeout": "PT0.5S"}
        request = await _request(sessions, workspace.workspace.id, step)
        async with hook_activities(sessions) as activities:
            answer = await ActivityEnvironment().run(activities.call, request)

    assert (answer.status_class, answer.status_code) == ("timeout", None)
    assert answer.error == "no answer within 0.5 s"


async def test_a_url_step_uses_the_registered_endpoint_of_that_url(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace, sink: WebhookSink
) -> None:
    endpoint_id, _ = await _endpoint(sessions, workspace.workspace.id, sink.url)
    request = await _request(sessions, workspace.workspace.id, {"url": sink.url, "wait_for_response": True})

    async with hook_activities(sessions) as activities:
        answer = await ActivityEnvironment().run(activities.call, request)

    assert (answer.status_class, answer.endpoint_id) == ("2xx", endpoint_id)


async def test_a_disabled_endpoint_or_a_body_that_is_not_json_is_an_error_and_sends_nothing(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace, sink: WebhookSink
) -> None:
    ws = workspace.workspace.id
    disabled, _ = await _endpoint(sessions, ws, sink.url, enabled=False)
    enabled, _ = await _endpoint(sessions, ws, sink.url)
    off = await _request(sessions, ws, {"endpoint_id": disabled, "wait_for_response": True})
    not_json = await _request(sessions, ws, {"endpoint_id": enabled, "wait_for_response": True,
                                             "body": "{{ contact.first_name }}"})  # fmt: skip

    async with hook_activities(sessions) as activities:
        gone = await ActivityEnvironment().run(activities.call, off)
        broken = await ActivityEnvironment().run(activities.call, not_json)

    assert (gone.status_class, gone.error) == ("error", f"the workspace has no enabled endpoint {disabled}")
    assert broken.status_class == "error"
    assert "not JSON" in (broken.error or "")
    assert sink.requests == []


async def test_fire_and_forget_queues_one_delivery_that_the_durable_path_sends(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace, sink: WebhookSink
) -> None:
    endpoint_id, secret = await _endpoint(sessions, workspace.workspace.id, sink.url)
    request = await _request(
        sessions, workspace.workspace.id, {"endpoint_id": endpoint_id, "body": {"a": "{{ contact.plan }}"}}
    )
    woken: list[str] = []

    async with hook_activities(sessions, woken) as activities:
        first = await ActivityEnvironment().run(activities.queue, request)
        again = await ActivityEnvironment().run(activities.queue, request)  # a retried activity

    assert first == again
    assert (first.queued, first.endpoint_id) == (True, endpoint_id)
    assert first.delivery_id is not None
    assert len(woken) == 2
    async with sessions() as session:
        row = await session.get(WebhookDelivery, first.delivery_id)
        assert row is not None
        assert (row.event_type, row.status, json.loads(row.body)) == ("journey.webhook", "pending", {"a": "pro"})
    assert sink.requests == []  # nothing sent by the step itself

    async with webhook_http_client(private_networks_allowed=True, timeout_seconds=5, max_connections=4) as http:
        delivery = WebhookDeliveryActivities(sessions, http, BOX, endpoint_concurrency=2)
        await ActivityEnvironment().run(delivery.deliver_due, DeliverDueInput(chunk_size=500, lease_seconds=5))

    mine = [r for r in sink.requests if r.headers.get("webhook-id") == first.delivery_id]
    assert len(mine) == 1
    expected = signature(secret, first.delivery_id, int(mine[0].headers["webhook-timestamp"]), mine[0].body)
    assert mine[0].headers["webhook-signature"] == expected
