"""The outbound webhooks API: CRUD, the secret shown once and rotated, the private-network guard at save time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client

from api.app import create_app
from mauntic.secrets import SecretBox
from mauntic.temporal import TemporalGateway
from store.db import create_async_db_engine, session_factory
from store.models_webhooks import WebhookEndpoint
from tests.conftest import TEST_SECRET_KEY, make_settings

ENDPOINT = {"url": "https://hooks.example.com/in", "event_types": ["contact.created", "segment.entered"]}


async def test_create_read_list_update_delete(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    created = await client.post("/v1/webhook-endpoints", json={**ENDPOINT, "description": "CRM"}, headers=admin_headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["event_types"] == ["contact.created", "segment.entered"]
    assert body["enabled"] is True

    read = await client.get(f"/v1/webhook-endpoints/{body['id']}", headers=admin_headers)
    assert read.status_code == 200
    assert "secret" not in read.json()
    assert read.json()["description"] == "CRM"

    second = await client.post("/v1/webhook-endpoints", json=ENDPOINT, headers=admin_headers)
    page = await client.get("/v1/webhook-endpoints", params={"limit": 1}, headers=admin_headers)
    assert [e["id"] for e in page.json()["data"]] == [body["id"]]
    rest = await client.get(
        "/v1/webhook-endpoints", params={"cursor": page.json()["next_cursor"]}, headers=admin_headers
    )
    assert [e["id"] for e in rest.json()["data"]] == [second.json()["id"]]

    patched = await client.patch(
        f"/v1/webhook-endpoints/{body['id']}",
        json={"enabled": False, "event_types": ["message.bounced"]},
        headers=admin_headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["enabled"] is False
    assert patched.json()["event_types"] == ["message.bounced"]

    assert (await client.delete(f"/v1/webhook-endpoints/{body['id']}", headers=admin_headers)).status_code == 204
    gone = await client.get(f"/v1/webhook-endpoints/{body['id']}", headers=admin_headers)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "webhook_endpoint_not_found"


async def test_secret_is_stored_encrypted_and_rotation_keeps_the_old_one_for_the_overlap(
    client: httpx.AsyncClient, admin_headers: dict[str, str], database_url: str
) -> None:
    created = (await client.post("/v1/webhook-endpoints", json=ENDPOINT, headers=admin_headers)).json()
    rotated = await client.post(f"/v1/webhook-endpoints/{created['id']}/rotate-secret", headers=admin_headers)
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != created["secret"]
    assert rotated.json()["previous_secret_expires_at"] is not None
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            row = await session.get(WebhookEndpoint, created["id"])
            assert row is not None
            box = SecretBox(TEST_SECRET_KEY)
            assert created["secret"] not in row.secret_encrypted
            assert box.decrypt(row.secret_encrypted) == rotated.json()["secret"]
            assert row.previous_secret_encrypted is not None
            assert box.decrypt(row.previous_secret_encrypted) == created["secret"]
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "https://hooks.example.com/in", "event_types": ["contact.exploded"]}, "validation_error"),
        ({"url": "https://hooks.example.com/in", "event_types": []}, "validation_error"),
        ({"url": "not a url at all", "event_types": ["contact.created"]}, "invalid_endpoint_url"),
        ({"url": "https://hooks.example.com/\u0000", "event_types": ["contact.created"]}, "validation_error"),
    ],
)
async def test_bad_bodies_are_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], body: dict[str, object], code: str
) -> None:
    answer = await client.post("/v1/webhook-endpoints", json=body, headers=admin_headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == code


@pytest.fixture
async def guarded_client(database_url: str, temporal_client: Client) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, provider_private_networks=False)
    app: FastAPI = create_app(settings, TemporalGateway(settings, temporal_client))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            yield http


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://hooks.example.com/in", "insecure_endpoint_url"),
        ("https://127.0.0.1/in", "private_endpoint_host"),
        ("https://10.0.0.8/in", "private_endpoint_host"),
        ("https://169.254.169.254/latest", "private_endpoint_host"),
        ("https://localhost:8443/in", "private_endpoint_host"),
    ],
)
async def test_private_and_insecure_urls_are_refused_at_save(
    guarded_client: httpx.AsyncClient, admin_headers: dict[str, str], url: str, code: str
) -> None:
    answer = await guarded_client.post(
        "/v1/webhook-endpoints", json={"url": url, "event_types": ["contact.created"]}, headers=admin_headers
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == code
    assert answer.json()["error"]["details"]["errors"][0]["field"] == "url"
    public = await guarded_client.post(
        "/v1/webhook-endpoints", json={"url": "https://93.184.216.34/in", "event_types": ["contact.created"]},
        headers=admin_headers,
    )  # fmt: skip
    assert public.status_code == 201, public.text
    changed = await guarded_client.patch(
        f"/v1/webhook-endpoints/{public.json()['id']}", json={"url": url}, headers=admin_headers
    )
    assert changed.status_code == 422
    assert changed.json()["error"]["code"] == code


async def test_scopes_and_other_workspaces(
    client: httpx.AsyncClient, admin_headers: dict[str, str], database_url: str
) -> None:
    from tests.conftest import new_workspace

    created = (await client.post("/v1/webhook-endpoints", json=ENDPOINT, headers=admin_headers)).json()
    other = await new_workspace(database_url)
    foreign = await client.get(
        f"/v1/webhook-endpoints/{created['id']}", headers={"Authorization": f"Bearer {other.api_key}"}
    )
    assert foreign.status_code == 404
    assert (await client.get("/v1/webhook-endpoints")).status_code == 401
