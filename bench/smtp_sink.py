"""A counting SMTP sink on loopback (aiosmtpd on the benchmark's own event loop).

It keeps no messages: each one is handed to the listeners (recipient, raw bytes) and counted, so the sink costs
the benchmark little CPU.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiosmtpd.smtp import SMTP

from bench.stack import ensure_free, free_port

OnMessage = Callable[[str, bytes], None]


class CountingSink:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.total = 0
        self.connections = 0  # SMTP sessions opened: each provider call opens one
        self.last_arrival = 0.0  # loop time of the latest message
        self._listeners: list[OnMessage] = []
        self._changed = asyncio.Event()

    def subscribe(self, listener: OnMessage) -> None:
        """listener(recipient, raw message) runs on every message, once per recipient."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: OnMessage) -> None:
        self._listeners.remove(listener)

    def received(self, recipient: str, content: bytes) -> None:
        self.total += 1
        self.last_arrival = asyncio.get_running_loop().time()
        for listener in list(self._listeners):
            listener(recipient, content)
        self._changed.set()

    async def wait_total(self, target: int, deadline: float) -> bool:
        """Wait until `target` messages arrived in total, or until loop time `deadline`; True if reached."""
        loop = asyncio.get_running_loop()
        while self.total < target:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 1.0))
            except TimeoutError:
                continue
        return True


class _Handler:
    def __init__(self, sink: CountingSink, delay: float) -> None:
        self._sink = sink
        self._delay = delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self._delay:
            await asyncio.sleep(self._delay)  # a slow relay: the message is in the provider's hands meanwhile
        for recipient in envelope.rcpt_tos:
            self._sink.received(str(recipient).lower(), bytes(envelope.content))
        return "250 Message accepted for delivery"


@asynccontextmanager
async def counting_sink(port: int | None = None, delay: float = 0.0) -> AsyncIterator[CountingSink]:
    """`delay`: seconds each DATA takes before the sink accepts (and counts) the message."""
    host = "127.0.0.1"
    port = port or free_port()
    ensure_free(port, "SMTP sink")
    sink = CountingSink(host, port)
    loop = asyncio.get_running_loop()
    handler = _Handler(sink, delay)

    # An explicit hostname: aiosmtpd would otherwise call socket.getfqdn() (a DNS lookup) per connection.
    def session() -> SMTP:
        sink.connections += 1
        return SMTP(handler, hostname="bench-sink", loop=loop)

    server = await loop.create_server(session, host, port)
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()
