"""The cost of the permission and field-policy layers per request: `GET /v1/contacts/{id}` latency p50 / p99 with
and without them, in one run.

`python -m bench.permissions [--requests N] [--database-url URL]` builds the real app (`api.app.create_app`) on a
migrated database (a temporary SQLite file by default), one workspace and one contact, and three ways in:

- **bare**: every permission dependency overridden by one that returns the workspace's principal: no key lookup,
  no permission check, no field policy (what the route costs on its own);
- **permissions**: a key acting as `marketer`, whose role has no field policy: the bearer key looked up, its role's
  permissions resolved (cached), the check, `last_used_at` (throttled);
- **permissions + fields**: a key acting as `analyst`, whose field policy masks the email, hides the phone and an
  attribute: the same plus the policy's application to the response.

Requests go through httpx's ASGI transport in this process (no sockets: the figure is the application's own
cost), interleaved round-robin with each way first in turn, so the three see the same machine; the first 200 of
each are warm-up. Prints each way's p50 / p99 and what the layers add at p50 beside the target (< 1 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from api.app import create_app
from api.deps import Principal
from api.routes import contacts
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.db import create_async_db_engine, session_factory
from store.migrate import upgrade
from store.workspaces import create_api_key, create_workspace

TARGET_ADDED_P50_MS = 1.0
WARMUP = 200


def _bypass(app: FastAPI, workspace_id: str) -> None:
    """Override every permission dependency (they carry `.permission`) with one returning a fixed principal."""
    principal = Principal(workspace_id=workspace_id, key_id="bench", scopes=["admin"], role=None)

    async def fixed() -> Principal:
        return principal

    # FastAPI builds an app's included routes lazily: walk the routers' own routes
    stack: list[Any] = [route.dependant for route in contacts.router.routes if hasattr(route, "dependant")]
    while stack:
        dependant = stack.pop()
        for dependency in dependant.dependencies:
            if getattr(dependency.call, "permission", None) is not None:
                app.dependency_overrides[dependency.call] = fixed
            stack.append(dependency)


async def _setup(url: str) -> tuple[str, str, dict[str, str]]:
    engine = create_async_db_engine(url)
    try:
        async with session_factory(engine)() as session:
            new = await create_workspace(session, "bench-permissions")
            ws = new.workspace.id
            keys = {}
            for role in ("marketer", "analyst"):
                _key, secret = await create_api_key(session, ws, f"bench {role}", [], role=role)
                keys[role] = secret
        return ws, new.api_key, keys
    finally:
        await engine.dispose()


def _quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(requests: int, url: str) -> None:
    upgrade(url)
    ws, admin_key, keys = await _setup(url)
    settings = Settings(database_url=url, secret_key="bench-permissions-" + "k" * 32)
    layered = create_app(settings, TemporalGateway(settings))
    bare = create_app(settings, TemporalGateway(settings))
    _bypass(bare, ws)
    async with layered.router.lifespan_context(layered), bare.router.lifespan_context(bare):
        admin = {"Authorization": f"Bearer {admin_key}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=layered), base_url="http://bench") as api:
            policy = {"fields": {"email": "masked", "phone": "hidden", "attributes.ssn": "hidden"}}
            assert (await api.put("/v1/field-policies/analyst", headers=admin, json=policy)).status_code == 200
            created = await api.post("/v1/contacts", headers=admin, json={
                "email": "jane@example.com", "phone": "+33612345678", "first_name": "Jane",
                "attributes": {"ssn": "123", "plan": "pro"}})  # fmt: skip
            assert created.status_code == 201, created.text
            path = f"/v1/contacts/{created.json()['id']}"
        clients = {
            "bare": (httpx.AsyncClient(transport=httpx.ASGITransport(app=bare), base_url="http://bench"), {}),
            "permissions": (
                httpx.AsyncClient(transport=httpx.ASGITransport(app=layered), base_url="http://bench"),
                {"Authorization": f"Bearer {keys['marketer']}"},
            ),
            "permissions + fields": (
                httpx.AsyncClient(transport=httpx.ASGITransport(app=layered), base_url="http://bench"),
                {"Authorization": f"Bearer {keys['analyst']}"},
            ),
        }
        timings: dict[str, list[float]] = {name: [] for name in clients}
        ways = list(clients.items())
        for i in range(requests + WARMUP):
            for name, (client, headers) in ways[i % 3 :] + ways[: i % 3]:  # each way first in turn
                start = time.perf_counter()
                response = await client.get(path, headers=headers)
                elapsed = (time.perf_counter() - start) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"{name}: {response.status_code} {response.text}")
                if i >= WARMUP:
                    timings[name].append(elapsed)
        masked = (await clients["permissions + fields"][0].get(path, headers=clients["permissions + fields"][1])).json()
        assert masked["email"] == "j***@example.com", masked
        assert "phone" not in masked, masked
        for client, _headers in clients.values():
            await client.aclose()
    print(f"GET /v1/contacts/{{id}}, {requests} requests per way (after {WARMUP} warm-up), interleaved")
    for name, samples in timings.items():
        print(f"  {name:<22} p50 {statistics.median(samples):6.2f} ms   p99 {_quantile(samples, 0.99):6.2f} ms")
    base = statistics.median(timings["bare"])
    for name in ("permissions", "permissions + fields"):
        added = statistics.median(timings[name]) - base
        verdict = "met" if added < TARGET_ADDED_P50_MS else "NOT met"
        print(f"  added by {name:<20} p50 {added:+6.2f} ms (target < {TARGET_ADDED_P50_MS:.0f} ms: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    if args.database_url:
        asyncio.run(run(args.requests, args.database_url))
        return
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(args.requests, f"sqlite:///{Path(folder) / 'bench.db'}"))


if __name__ == "__main__":
    main()
