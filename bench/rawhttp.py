"""A minimal HTTP/1.1 keep-alive client for loopback load generation.

httpx's connection pool spends CPU per pending request on every state change, so with hundreds of requests in
flight the load generator itself starves and sends late (coordinated omission). This client does one thing:
POST a body on one of at most `max_connections` persistent connections, waiting in line for a free one.
"""

from __future__ import annotations

import asyncio
from collections import deque


class HttpError(Exception):
    pass


class _Stale(Exception):
    """A kept-alive connection the server had closed: nothing was read, so sending again is safe."""


# uvicorn closes keep-alive connections idle for 5 s: never reuse one idle for longer than this.
_MAX_IDLE = 3.0


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.reusable = True
        self.idle_since = 0.0

    async def exchange(self, request: bytes) -> int:
        self.writer.write(request)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise _Stale()
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        chunked = False
        while (line := await self.reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                self.reusable = False
        if chunked:
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readline()
        elif length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


class RawHttpClient:
    def __init__(self, host: str, port: int, headers: dict[str, str], max_connections: int) -> None:
        self._host = host
        self._port = port
        fixed = {"Host": f"{host}:{port}", "Content-Type": "application/json", **headers}
        self._head = "".join(f"{name}: {value}\r\n" for name, value in fixed.items()).encode()
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: deque[_Connection] = deque()

    async def post(self, path: str, body: bytes) -> int:
        """POST `body` to `path`; returns the status code. Waits for a free connection when all are busy."""
        request = b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s" % (path.encode(), self._head, len(body), body)
        async with self._slots:
            loop = asyncio.get_running_loop()
            while self._idle and loop.time() - self._idle[0].idle_since > _MAX_IDLE:
                self._idle.popleft().close()
            reused = bool(self._idle)
            connection = self._idle.pop() if reused else await self._open()
            try:
                try:
                    status = await connection.exchange(request)
                except (_Stale, ConnectionResetError, BrokenPipeError):
                    if not reused:
                        raise
                    connection.close()
                    connection = await self._open()
                    status = await connection.exchange(request)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError, _Stale) as exc:
                connection.close()
                raise HttpError(f"{type(exc).__name__}: {exc}") from exc
            if connection.reusable:
                connection.idle_since = loop.time()
                self._idle.append(connection)
            else:
                connection.close()
            return status

    async def _open(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self._host, self._port)
        return _Connection(reader, writer)

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()
