"""A loopback stand-in for the host serving SNS signing certificates, and the default fetcher pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fastapi import FastAPI, Response
from fastapi.responses import StreamingResponse

from api.webhooks.verify_sns import MAX_CERTIFICATE_BYTES, HttpxSnsFetcher

CHUNK = 65_536
ENDLESS_BYTES = 64 * 1024 * 1024  # what /endless would send if read to the end


@dataclass
class CertificateHost:
    """Paths: /certificate (the PEM), /status/{code}, /large (declared too large), /endless (streamed, no length),
    /hang (answers once released)."""

    certificate_pem: bytes
    endless_sent: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/certificate")
        async def certificate() -> Response:
            return Response(self.certificate_pem, media_type="application/x-pem-file")

        @app.get("/status/{code}")
        async def status(code: int) -> Response:
            return Response(b"error", status_code=code)

        @app.get("/large")
        async def large() -> Response:
            return Response(b"x" * (MAX_CERTIFICATE_BYTES + 1))

        @app.get("/endless")
        async def endless() -> StreamingResponse:
            return StreamingResponse(self._endless())

        @app.get("/hang")
        async def hang() -> Response:
            await self.released.wait()
            return Response(self.certificate_pem)

        return app

    async def _endless(self) -> AsyncIterator[bytes]:
        while self.endless_sent < ENDLESS_BYTES:
            self.endless_sent += CHUNK
            yield b"x" * CHUNK


class FetcherAt(HttpxSnsFetcher):
    """The default fetcher, fetching every certificate from one URL (the loopback host) instead of AWS."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        super().__init__(timeout=timeout)
        self._url = url

    async def certificate(self, url: str) -> bytes:
        return await super().certificate(self._url)
