"""Every route's body is bounded while it is read, before parsing: 413 `payload_too_large`, nothing stored.

On main a 10 MB attribute was stored and returned, and 50 MB of whitespace JSON was read whole.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client

from api.app import create_app
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.models import Contact, Journey
from store.workspaces import NewWorkspace
from tests.api.ingest_support import Sessions
from tests.api.test_hostile_input import count
from tests.api.test_journeys import DEFINITION
from tests.conftest import make_settings

Headers = dict[str, str]
MB = 1024 * 1024
CHUNK = 64 * 1024


class Counted:
    """A streamed body (no Content-Length: chunked) that counts how much of it the server pulled."""

    def __init__(self, head: bytes, filler: bytes, total: int, tail: bytes = b"") -> None:
        self.head, self.filler, self.total, self.tail = head, filler, total, tail
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._pieces():
            self.pulled += len(piece)
            yield piece

    def _pieces(self) -> list[bytes] | Any:
        yield self.head
        sent = len(self.head)
        while sent < self.total:
            piece = self.filler * (CHUNK // len(self.filler))
            sent += len(piece)
            yield piece
        yield self.tail


def assert_413(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text[:300]
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_a_10_mb_attribute_is_refused(
    client: httpx.AsyncClient, admin_headers: Headers, workspace: NewWorkspace, db: Sessions
) -> None:
    response = await client.post("/v1/contacts", headers=admin_headers, json={"attributes": {"blob": "x" * 10 * MB}})
    assert_413(response)
    assert await count(db, Contact, workspace.workspace.id) == 0


async def test_10_mb_of_step_text_is_refused(
    client: httpx.AsyncClient, admin_headers: Headers, workspace: NewWorkspace, db: Sessions
) -> None:
    definition = json.loads(json.dumps(DEFINITION))
    definition["steps"][0]["text"] = "x" * 10 * MB
    assert_413(await client.post("/v1/journeys", headers=admin_headers, json={"name": "J", "definition": definition}))
    assert await count(db, Journey, workspace.workspace.id) == 0


async def test_50_mb_of_streamed_whitespace_is_cut_off_early(
    client: httpx.AsyncClient, admin_headers: Headers, workspace: NewWorkspace, db: Sessions
) -> None:
    body = Counted(b'{"attributes": {"a": 1}', b" ", 50 * MB, b"}")
    response = await client.post(
        "/v1/contacts", headers={**admin_headers, "Content-Type": "application/json"}, content=body
    )
    assert_413(response)
    assert body.pulled <= Settings().max_body_bytes + CHUNK  # reading stopped at the limit: memory stays bounded
    assert await count(db, Contact, workspace.workspace.id) == 0


async def test_a_lying_content_length_does_not_get_past(
    client: httpx.AsyncClient, admin_headers: Headers, workspace: NewWorkspace, db: Sessions
) -> None:
    body = Counted(b'{"attributes": {"a": "', b"y", 3 * MB, b'"}}')
    headers = {**admin_headers, "Content-Type": "application/json", "Content-Length": "40"}
    assert_413(await client.post("/v1/contacts", headers=headers, content=body))
    assert body.pulled <= Settings().max_body_bytes + CHUNK
    assert await count(db, Contact, workspace.workspace.id) == 0


async def test_a_declared_length_over_the_limit_is_refused_before_reading(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    body = Counted(b"{", b" ", 4 * MB, b"}")
    headers = {**admin_headers, "Content-Type": "application/json", "Content-Length": str(4 * MB + 2)}
    assert_413(await client.patch("/v1/contacts/ct_x", headers=headers, content=body))
    assert body.pulled == 0


@pytest.mark.parametrize("path", ["/v1/api-keys", "/v1/suppressions", "/v1/providers", "/v1/sending-domains"])
async def test_every_rest_route_is_bounded(client: httpx.AsyncClient, admin_headers: Headers, path: str) -> None:
    assert_413(await client.post(path, headers=admin_headers, json={"name": " " * 2 * MB}))


async def test_unauthenticated_and_unknown_routes_are_bounded_too(client: httpx.AsyncClient) -> None:
    assert_413(await client.post("/v1/contacts", content=b" " * 2 * MB))
    assert_413(await client.post("/no/such/route", content=b" " * 2 * MB))


async def test_webhooks_keep_their_own_limit_with_the_same_code(client: httpx.AsyncClient) -> None:
    under = await client.post("/v1/webhooks/pv_unknown", content=b" " * 2 * MB)
    assert under.status_code != 413  # provider payloads may be larger than a REST body
    assert_413(await client.post("/v1/webhooks/pv_unknown", content=b" " * 6 * MB))


async def test_ingestion_keeps_segments_400_through_the_same_reader(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/batch", content=b" " * 600 * 1024)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "batch_too_large"
    response = await client.post("/v1/track", content=b" " * 40 * 1024)
    assert response.json()["error"]["code"] == "message_too_large"


@pytest.fixture
async def small_app(database_url: str, temporal_client: Client) -> AsyncIterator[FastAPI]:
    settings = make_settings(database_url, max_body_bytes=4096, max_journey_definition_bytes=64 * 1024)
    application = create_app(settings, TemporalGateway(settings, temporal_client))
    async with application.router.lifespan_context(application):
        yield application


async def test_limits_are_configurable_and_journeys_have_their_own(
    small_app: FastAPI, admin_headers: Headers, workspace: NewWorkspace, db: Sessions
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=small_app), base_url="http://t") as client:
        assert_413(await client.post("/v1/contacts", headers=admin_headers, json={"attributes": {"a": "x" * 5000}}))
        fits = {"email": "small@example.test", "attributes": {"a": "x" * 3000}}
        small = await client.post("/v1/contacts", headers=admin_headers, json=fits)
        assert small.status_code == 201, small.text

        definition = json.loads(json.dumps(DEFINITION))
        definition["steps"][0]["text"] = "x" * 20_000  # over the REST limit, under the journeys' one
        created = await client.post("/v1/journeys", headers=admin_headers, json={"name": "J", "definition": definition})
        assert created.status_code == 201, created.text
        url = f"/v1/journeys/{created.json()['id']}"
        definition["steps"][0]["text"] = "x" * 70_000
        assert_413(await client.patch(url, headers=admin_headers, json={"definition": definition}))
        assert_413(await client.post(f"{url}/publish", headers=admin_headers, content=b" " * 70_000))
    assert await count(db, Journey, workspace.workspace.id) == 1
