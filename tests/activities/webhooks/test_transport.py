"""The delivery client refuses private addresses at connection time, whatever the name looked like when saved."""

from __future__ import annotations

import httpx
import pytest

from activities.webhooks.transport import PrivateAddressRefused, webhook_http_client
from drills.webhook_sink import WebhookSink


def resolving_to(address: str):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        return [address]

    return resolve


async def test_a_public_name_that_resolves_to_a_private_address_is_refused() -> None:
    async with WebhookSink().running() as sink:
        client = webhook_http_client(
            private_networks_allowed=False, timeout_seconds=2, max_connections=4, resolver=resolving_to("127.0.0.1")
        )
        async with client:
            with pytest.raises(httpx.ConnectError) as caught:
                await client.post(f"http://hooks.example.com:{sink.port}/hook", content=b"{}")
        assert isinstance(caught.value.__context__ or caught.value.__cause__, PrivateAddressRefused)
        assert sink.requests == []


@pytest.mark.parametrize("address", ["10.0.0.5", "169.254.169.254", "::1", "192.168.0.10"])
async def test_every_private_range_is_refused(address: str) -> None:
    client = webhook_http_client(
        private_networks_allowed=False, timeout_seconds=2, max_connections=4, resolver=resolving_to(address)
    )
    async with client:
        with pytest.raises(httpx.ConnectError, match="private or local"):
            await client.post("https://hooks.example.com/hook", content=b"{}")


async def test_loopback_is_reached_when_the_deployment_allows_private_networks() -> None:
    async with WebhookSink().running() as sink:
        async with webhook_http_client(private_networks_allowed=True, timeout_seconds=2, max_connections=4) as client:
            response = await client.post(sink.url, content=b'{"a":1}', headers={"webhook-id": "msg_1"})
        assert response.status_code == 200
        assert sink.requests[0].body == b'{"a":1}'
        assert sink.seen == {"msg_1": 1}
