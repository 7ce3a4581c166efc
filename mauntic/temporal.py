"""Building Temporal clients from settings (embedded dev server, self-hosted cluster or Temporal Cloud)."""

from __future__ import annotations

import asyncio

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import TLSConfig

from mauntic.settings import Settings


def _tls(settings: Settings) -> TLSConfig | bool:
    if not (settings.temporal_tls or settings.temporal_api_key or settings.temporal_tls_cert):
        return False
    if not (settings.temporal_tls_cert or settings.temporal_tls_ca):
        return True
    return TLSConfig(
        client_cert=settings.temporal_tls_cert.read_bytes() if settings.temporal_tls_cert else None,
        client_private_key=settings.temporal_tls_key.read_bytes() if settings.temporal_tls_key else None,
        server_root_ca_cert=settings.temporal_tls_ca.read_bytes() if settings.temporal_tls_ca else None,
    )


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        tls=_tls(settings),
        api_key=settings.temporal_api_key or None,
    )


class TemporalGateway:
    """Connects on first use and reconnects after a failure, so the API can start before Temporal is up."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                self._client = await connect(self._settings)
            return self._client

    @property
    def task_queue(self) -> str:
        return self._settings.temporal_task_queue

    async def reachable(self) -> bool:
        try:
            client = await asyncio.wait_for(self.client(), timeout=3)
            await asyncio.wait_for(client.service_client.check_health(), timeout=3)
        except Exception:
            return False
        return True
