"""A webhook receiver on loopback for tests, the kill drill and the bench: a bare asyncio HTTP/1.1 server (keep-alive,
Content-Length bodies) that keeps every request, dedupes on `webhook-id` as a receiver should, and answers what
`status_for` says (e.g. 500 for the first attempts of each id). Bare so that it costs the 2-core machine far less
than the deliveries it measures."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookSink:
    host: str = "127.0.0.1"
    port: int = 0
    status_for: Callable[[Received, int], int] = lambda _r, _n: 200  # (request, how many times its id came) -> code
    requests: list[Received] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)  # webhook-id -> requests received
    accepted: set[str] = field(default_factory=set)  # webhook-ids answered 2xx at least once
    keep_requests: bool = True
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    def _record(self, request: Received) -> int:
        msg_id = request.headers.get("webhook-id", "")
        count = self.seen[msg_id] = self.seen.get(msg_id, 0) + 1
        if self.keep_requests:
            self.requests.append(request)
        code = self.status_for(request, count)
        if 200 <= code < 300:
            self.accepted.add(msg_id)
        self.arrived.set()
        return code

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1] if " " in lines[0] else "/"
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                code = self._record(Received(path, headers, body))
                writer.write(f"HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[WebhookSink]:
        server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)


def fail_first(n: int, code: int = 500) -> Callable[[Received, int], int]:
    """Answer `code` to the first n requests of each webhook-id, then 200."""
    return lambda _r, count: code if count <= n else 200
