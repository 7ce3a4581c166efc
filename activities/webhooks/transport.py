"""The delivery client's connections: each name is resolved once per connection, every address it resolves to
must be public (unless the deployment allows private networks), and the connection goes to the address that was
checked. A hostname that resolves to 10.0.0.5 at delivery time, though it was public when the endpoint was saved
(DNS rebinding), is refused before a byte is sent."""

from __future__ import annotations

import asyncio
import socket
import ssl
import typing
from collections.abc import Awaitable, Callable

import certifi
import httpcore
import httpx

from domain.outbound_webhooks.targets import address_allowed

REFUSED = "refused: the endpoint's host resolves to a private or local address"


class PrivateAddressRefused(httpcore.ConnectError):
    pass


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, *, private_networks_allowed: bool, resolver: Resolver = system_resolver) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allowed = private_networks_allowed
        self._resolve = resolver

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await asyncio.wait_for(self._resolve(host, port), timeout)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not addresses or not all(address_allowed(a, private_networks_allowed=self._allowed) for a in addresses):
            raise PrivateAddressRefused(REFUSED)
        return await self._inner.connect_tcp(
            addresses[0], port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not webhook endpoints")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def webhook_http_client(
    *,
    private_networks_allowed: bool,
    timeout_seconds: float,
    max_connections: int,
    resolver: Resolver = system_resolver,
) -> httpx.AsyncClient:
    """The one client of every delivery (built once in worker.py): pooled keep-alive connections, no redirects
    (a redirect could lead anywhere), and the guarded resolution above."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    transport = httpx.AsyncHTTPTransport(limits=limits)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl.create_default_context(cafile=certifi.where()),
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=30.0,
        network_backend=GuardedBackend(private_networks_allowed=private_networks_allowed, resolver=resolver),
    )
    return httpx.AsyncClient(
        transport=transport, timeout=httpx.Timeout(timeout_seconds, connect=5.0), follow_redirects=False
    )
