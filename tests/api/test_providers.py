"""The delivery providers API: validation per provider type, the channel guard, secrets in and never out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client

from api.app import create_app
from mauntic.secrets import SecretBox
from mauntic.temporal import TemporalGateway
from store.models import DeliveryProvider
from store.providers import stored_config
from tests.api.ingest_support import Sessions
from tests.conftest import TEST_SECRET_KEY, make_settings
from tests.webhooks.signing import sendgrid_public_key

SENDGRID_KEY = "SG.secret-api-key-value"
TWILIO: dict[str, Any] = {
    "account_sid": "AC" + "0" * 32,
    "auth_token": "twilio-auth-token",
    "from_number": "+15005550006",
}


def sendgrid(name: str = "sg", priority: int = 100) -> dict[str, Any]:
    return {
        "name": name,
        "type": "sendgrid",
        "channel": "email",
        "priority": priority,
        "config": {"api_key": SENDGRID_KEY},
    }


async def test_create_validates_and_never_returns_secrets(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Sessions
) -> None:
    created = await client.post("/v1/providers", headers=admin_headers, json=sendgrid())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["type"] == "sendgrid"
    assert body["channel"] == "email"
    assert body["secrets_set"] == ["api_key"]
    assert "api_key" not in body["config"]
    assert SENDGRID_KEY not in created.text
    assert body["webhook_url"].endswith(f"/v1/webhooks/{body['id']}")

    fetched = await client.get(f"/v1/providers/{body['id']}", headers=admin_headers)
    assert SENDGRID_KEY not in fetched.text

    async with db() as session:
        row = (await session.execute(select(DeliveryProvider).where(DeliveryProvider.id == body["id"]))).scalar_one()
    assert SENDGRID_KEY not in str(row.config) + row.secrets
    assert stored_config(row, SecretBox(TEST_SECRET_KEY)).model_dump()["api_key"] == SENDGRID_KEY


async def test_a_provider_on_the_wrong_channel_is_refused_naming_the_field(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/providers",
        headers=admin_headers,
        json={"name": "sms", "type": "twilio", "channel": "email", "config": TWILIO},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "incompatible_channel"
    assert error["details"]["field"] == "channel"
    assert error["details"]["supported_channel"] == "sms"


async def test_invalid_configuration_names_the_field(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    missing_key = await client.post(
        "/v1/providers", headers=admin_headers, json={**sendgrid(), "config": {"base_url": "https://x.test"}}
    )
    assert missing_key.status_code == 422
    assert missing_key.json()["error"]["code"] == "invalid_provider_config"
    assert missing_key.json()["error"]["details"]["errors"][0]["field"] == "config.api_key"

    bad_sid = await client.post(
        "/v1/providers",
        headers=admin_headers,
        json={"name": "sms", "type": "twilio", "channel": "sms", "config": {**TWILIO, "account_sid": "XX1"}},
    )
    assert bad_sid.status_code == 422
    assert bad_sid.json()["error"]["details"]["errors"][0]["field"] == "config.account_sid"

    unknown_field = await client.post(
        "/v1/providers", headers=admin_headers, json={**sendgrid(), "config": {"api_key": "k", "surprise": 1}}
    )
    assert unknown_field.status_code == 422
    assert unknown_field.json()["error"]["details"]["errors"][0]["field"] == "config.surprise"

    unknown_type = await client.post("/v1/providers", headers=admin_headers, json={**sendgrid(), "type": "pigeon"})
    assert unknown_type.status_code == 422
    assert unknown_type.json()["error"]["code"] == "unknown_provider_type"

    unknown_channel = await client.post("/v1/providers", headers=admin_headers, json={**sendgrid(), "channel": "fax"})
    assert unknown_channel.status_code == 422
    assert unknown_channel.json()["error"]["code"] == "unknown_channel"


async def test_duplicate_names_conflict(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    assert (await client.post("/v1/providers", headers=admin_headers, json=sendgrid())).status_code == 201
    again = await client.post("/v1/providers", headers=admin_headers, json=sendgrid())
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "provider_exists"


async def test_update_keeps_secrets_left_out_and_revalidates(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Sessions
) -> None:
    provider_id = (await client.post("/v1/providers", headers=admin_headers, json=sendgrid())).json()["id"]
    moved = await client.patch(
        f"/v1/providers/{provider_id}",
        headers=admin_headers,
        json={"config": {"base_url": "https://relay.example.test"}, "priority": 5, "enabled": False},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["config"]["base_url"] == "https://relay.example.test"
    assert moved.json()["priority"] == 5
    assert moved.json()["enabled"] is False
    async with db() as session:
        row = await session.get(DeliveryProvider, provider_id)
        assert row is not None
        assert stored_config(row, SecretBox(TEST_SECRET_KEY)).model_dump()["api_key"] == SENDGRID_KEY

    bad = await client.patch(f"/v1/providers/{provider_id}", headers=admin_headers, json={"config": {"base_url": "x"}})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["errors"][0]["field"] == "config.base_url"
    wrong_channel = await client.patch(f"/v1/providers/{provider_id}", headers=admin_headers, json={"channel": "push"})
    assert wrong_channel.status_code == 422
    assert wrong_channel.json()["error"]["code"] == "incompatible_channel"


async def test_chain_orders_enabled_providers_by_priority(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for name, priority in (("backup", 20), ("primary", 10), ("spare", 30)):
        assert (
            await client.post("/v1/providers", headers=admin_headers, json=sendgrid(name, priority))
        ).status_code == 201
    spare = (await client.get("/v1/providers?limit=200", headers=admin_headers)).json()["data"][2]
    await client.patch(f"/v1/providers/{spare['id']}", headers=admin_headers, json={"enabled": False})
    chain = await client.get("/v1/channels/email/chain", headers=admin_headers)
    assert chain.status_code == 200
    assert [p["name"] for p in chain.json()["providers"]] == ["primary", "backup"]
    assert (await client.get("/v1/channels/sms/chain", headers=admin_headers)).json()["providers"] == []
    assert (await client.get("/v1/channels/fax/chain", headers=admin_headers)).status_code == 422


async def test_list_pages_and_delete(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    ids = [
        (await client.post("/v1/providers", headers=admin_headers, json=sendgrid(f"p{i}"))).json()["id"]
        for i in range(3)
    ]
    first = (await client.get("/v1/providers?limit=2", headers=admin_headers)).json()
    assert [p["id"] for p in first["data"]] == ids[:2]
    rest = (await client.get(f"/v1/providers?limit=2&cursor={first['next_cursor']}", headers=admin_headers)).json()
    assert [p["id"] for p in rest["data"]] == ids[2:]
    assert rest["next_cursor"] is None
    assert (await client.delete(f"/v1/providers/{ids[0]}", headers=admin_headers)).status_code == 204
    gone = await client.get(f"/v1/providers/{ids[0]}", headers=admin_headers)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "provider_not_found"


async def test_delivery_scopes_are_required(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    issued = await client.post(
        "/v1/api-keys", headers=admin_headers, json={"name": "reader", "scopes": ["delivery:read"]}
    )
    reader = {"Authorization": f"Bearer {issued.json()['key']}"}
    assert (await client.get("/v1/providers", headers=reader)).status_code == 200
    denied = await client.post("/v1/providers", headers=reader, json=sendgrid())
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "insufficient_scope"


async def test_workspaces_do_not_see_each_others_providers(
    client: httpx.AsyncClient, admin_headers: dict[str, str], database_url: str
) -> None:
    from tests.conftest import new_workspace

    provider_id = (await client.post("/v1/providers", headers=admin_headers, json=sendgrid())).json()["id"]
    other = await new_workspace(database_url)
    foreign = await client.get(f"/v1/providers/{provider_id}", headers={"Authorization": f"Bearer {other.api_key}"})
    assert foreign.status_code == 404


@pytest.fixture
async def strict_client(database_url: str, temporal_client: Client) -> AsyncIterator[httpx.AsyncClient]:
    """The API as deployed by default: provider configurations may not aim workers at private networks."""
    settings = make_settings(database_url, provider_private_networks=False)
    application = create_app(settings, TemporalGateway(settings, temporal_client))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.mark.parametrize(
    ("provider_type", "channel", "config", "field", "code"),
    [
        ("sendgrid", "email", {"api_key": "k", "base_url": "https://169.254.169.254/latest"}, "base_url",
         "private_provider_host"),
        ("sendgrid", "email", {"api_key": "k", "base_url": "http://api.sendgrid.com"}, "base_url",
         "insecure_provider_url"),
        ("smtp", "email", {"host": "127.0.0.1", "port": 25, "security": "none"}, "host", "private_provider_host"),
        ("smtp", "email", {"host": "localhost"}, "host", "private_provider_host"),
        ("ses", "email", {"region": "eu-west-1", "access_key_id": "AKIAEXAMPLE123456", "secret_access_key": "s",
                          "endpoint_url": "https://[::1]:8443"}, "endpoint_url", "private_provider_host"),
    ],
)  # fmt: skip
async def test_provider_targets_on_private_networks_are_refused_by_default(
    strict_client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    provider_type: str,
    channel: str,
    config: dict[str, Any],
    field: str,
    code: str,
) -> None:
    body = {"name": "p", "type": provider_type, "channel": channel, "config": config}
    response = await strict_client.post("/v1/providers", headers=admin_headers, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["details"]["errors"][0]["field"] == f"config.{field}"


async def test_public_https_targets_pass_by_default(
    strict_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await strict_client.post("/v1/providers", headers=admin_headers, json=sendgrid())
    assert created.status_code == 201, created.text
    relay = {"name": "relay", "type": "smtp", "channel": "email", "config": {"host": "smtp.example.com"}}
    assert (await strict_client.post("/v1/providers", headers=admin_headers, json=relay)).status_code == 201


async def test_a_provider_whose_secrets_do_not_decrypt_still_reads_and_can_be_repaired(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Sessions
) -> None:
    provider_id = (await client.post("/v1/providers", headers=admin_headers, json=sendgrid())).json()["id"]
    async with db() as session:
        row = await session.get(DeliveryProvider, provider_id)
        assert row is not None
        row.secrets = SecretBox("another-master-key-" + "x" * 32).encrypt_json({"api_key": "k"})
        await session.commit()
    read = await client.get(f"/v1/providers/{provider_id}", headers=admin_headers)
    assert read.status_code == 200
    assert read.json()["secrets_set"] is None
    listed = await client.get("/v1/providers", headers=admin_headers)
    assert listed.status_code == 200
    repaired = await client.patch(
        f"/v1/providers/{provider_id}", headers=admin_headers, json={"config": {"api_key": "SG.new"}}
    )
    assert repaired.status_code == 200, repaired.text
    assert repaired.json()["secrets_set"] == ["api_key"]
    incomplete = await client.patch(f"/v1/providers/{provider_id}", headers=admin_headers, json={"priority": 1})
    assert incomplete.status_code == 200


async def test_hostile_requests_get_a_4xx_with_a_stable_code(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Each of these was a 500 (or a 4xx without its proper code or headers)."""
    created = await client.post("/v1/providers", headers=admin_headers, json=sendgrid("hostile"))
    assert created.status_code == 201, created.text
    json_type = {**admin_headers, "content-type": "application/json"}
    # A NUL in an id or a cursor: PostgreSQL text cannot hold it, so the query failed.
    for method, url in [("GET", "/v1/providers/prv_%00"), ("PATCH", "/v1/providers/prv_%00"),
                        ("DELETE", "/v1/providers/prv_%00"), ("GET", "/v1/providers?cursor=%00")]:  # fmt: skip
        response = await client.request(method, url, headers=json_type, content=b"{}")
        expected = "invalid_cursor" if "cursor=" in url else "validation_error"
        assert (response.status_code, response.json()["error"]["code"]) == (422, expected), url
    # A body FastAPI cannot decode (not UTF-8): malformed_json, as for any other broken JSON.
    response = await client.patch(f"/v1/providers/{created.json()['id']}", headers=json_type, content=b"\xff{}")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "malformed_json")
    # A 405 carries Allow (RFC 9110); Starlette names the methods of the first route matching the path.
    response = await client.put("/v1/providers", headers=admin_headers)
    assert (response.status_code, response.json()["error"]["code"]) == (405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


async def test_a_sendgrid_webhook_key_that_is_no_p256_public_key_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for key in ("not base64!", "aGVsbG8=", "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"):
        body = {**sendgrid(), "config": {"api_key": SENDGRID_KEY, "webhook_verification_key": key}}
        response = await client.post("/v1/providers", headers=admin_headers, json=body)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_provider_config"
        assert error["details"]["errors"][0]["field"] == "config.webhook_verification_key"
    good = {**sendgrid(), "config": {"api_key": SENDGRID_KEY, "webhook_verification_key": sendgrid_public_key()}}
    assert (await client.post("/v1/providers", headers=admin_headers, json=good)).status_code == 201
