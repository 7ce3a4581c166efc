"""What every fake provider shares: a FastAPI app served on loopback, a record of what arrived and what was
accepted, and a queue of scripted answers (errors, or no answer at all) given instead of processing a request."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response

from tests.servers import serve_api


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Scripted:
    """An answer to give instead of processing the next request. `hang` never answers (until the fake shuts
    down), so the client's timeout fires."""

    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Response:
    """A response whose body is JSON (dict or list), text (str) or empty (None)."""
    if body is None:
        return Response(status_code=status, headers=headers)
    if isinstance(body, str):
        return Response(body, status_code=status, headers=headers, media_type="text/plain")
    return Response(json.dumps(body), status_code=status, headers=headers, media_type="application/json")


class FakeProvider:
    def __init__(self) -> None:
        self.base_url = ""
        self.received: list[Received] = []
        self._script: deque[Scripted] = deque()
        self._closing = asyncio.Event()
        self.app = FastAPI()
        self.add_routes(self.app)

    def add_routes(self, app: FastAPI) -> None:
        raise NotImplementedError

    def script(self, *answers: Scripted) -> None:
        """Answer the next requests with these, in order, whatever they contain."""
        self._script.extend(answers)

    async def intercept(self, request: Request) -> tuple[bytes, Response | None]:
        """Record the request; return its body and the scripted answer to give instead, if one is queued."""
        body = await request.body()
        self.received.append(Received(request.method, request.url.path, dict(request.headers), body))
        if not self._script:
            return body, None
        scripted = self._script.popleft()
        if scripted.hang:
            await self._closing.wait()
        return body, answer(scripted.status, scripted.body, scripted.headers)

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        async with serve_api(self.app) as base_url:
            self.base_url = base_url
            try:
                yield base_url
            finally:
                self._closing.set()
