"""Journeys that wait, for bench.journey_latency and bench.journey_memory: a definition file (its trigger event
and its first wait_for_event step), N contacts identified and triggered through /v1/batch, and the wait until
every one of them stands in that step (asked through the API's state endpoint)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench import segment
from bench.stack import Stack, StackError
from store.db import create_async_db_engine

DEFAULT_DEFINITION = Path(__file__).parent / "definitions" / "abandoned_cart.json"
TRIES_503 = ("journey_query_failed", "journey_enrollment_not_found", "journey_run_not_found")


@dataclass(frozen=True)
class WaitingJourney:
    definition: dict[str, Any]
    trigger: str  # the trigger's event name
    step: str  # the first wait_for_event step's id
    awaited: str  # the event it waits for

    @classmethod
    def load(cls, path: Path) -> WaitingJourney:
        definition = json.loads(path.read_text())
        trigger = definition.get("trigger", {}).get("event")
        waits = [s for s in definition.get("steps", []) if s.get("type") == "wait_for_event"]
        if not trigger or not waits:
            raise StackError(f"{path}: the definition needs an event trigger and a wait_for_event step")
        return cls(definition, trigger, waits[0]["id"], waits[0]["event"])


def user_id(index: int) -> str:
    return f"wait-user-{index}"


def address(index: int) -> str:
    return f"w{index}@waiting.example.test"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def contact_ids(stack: Stack, n: int) -> list[str]:
    """The contact ids of user 0..n-1, in that order."""
    engine = create_async_db_engine(stack.database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT external_id, id FROM contact WHERE workspace_id = :ws"), {"ws": stack.workspace_id}
            )
            ids = {str(external): str(contact) for external, contact in rows.all()}
    finally:
        await engine.dispose()
    return [ids[user_id(i)] for i in range(n)]


async def state(http: httpx.AsyncClient, journey_id: str, contact_id: str) -> dict[str, Any] | None:
    """The contact's journey state, None while it cannot be told yet (not entered, a cold worker)."""
    response = await http.get(f"/v1/journeys/{journey_id}/contacts/{contact_id}")
    if response.status_code in (404, 503) and response.json()["error"]["code"] in TRIES_503:
        return None
    if response.status_code != 200:
        raise StackError(f"the state of {contact_id} answered {response.status_code}: {response.text[:300]}")
    found: dict[str, Any] = response.json()["state"]
    return found


def api_client(stack: Stack) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    return httpx.AsyncClient(base_url=stack.api_url, headers=headers, timeout=30)


async def until_every(
    stack: Stack, journey_id: str, contacts: list[str], done: Any, timeout: float, what: str
) -> list[dict[str, Any]]:
    """Ask each contact's state (16 at a time) until `done(state)`; every final state, in order."""
    deadline = time.monotonic() + timeout
    gate = asyncio.Semaphore(16)
    async with api_client(stack) as http:

        async def one(contact_id: str) -> dict[str, Any]:
            async with gate:
                while True:
                    found = await state(http, journey_id, contact_id)
                    if found is not None and done(found):
                        return found
                    if time.monotonic() > deadline:
                        raise StackError(f"{contact_id} never reached {what} within {timeout:.0f} s: {found}")
                    await asyncio.sleep(0.2)

        return list(await asyncio.gather(*(one(c) for c in contacts)))


async def enter_and_wait(stack: Stack, journey: WaitingJourney, journey_id: str, n: int, timeout: float) -> list[str]:
    """Identify and trigger n contacts; return their ids once every one stands in the wait_for_event step."""
    stats = segment.IngestStats()
    async with segment.ingestion_client(stack.api_url, stack.write_key, 4) as http:
        for kind in ("identify", "track"):
            for start in range(0, n, 100):
                batch = [
                    segment.identify(user_id(i), {"email": address(i), "firstName": f"W{i}"})
                    if kind == "identify"
                    else segment.track(user_id(i), journey.trigger)
                    for i in range(start, min(n, start + 100))
                ]
                await segment.send_batch(http, batch, stats)
    contacts = await contact_ids(stack, n)

    def waiting(found: dict[str, Any]) -> bool:
        return found.get("current_step") == journey.step and found.get("waiting_for_event") == journey.awaited

    await until_every(stack, journey_id, contacts, waiting, timeout, f"the step {journey.step!r}")
    return contacts
