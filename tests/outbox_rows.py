"""Reading the dispatch outbox in tests."""

from __future__ import annotations

import httpx
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from store.db import create_async_db_engine
from store.models import DispatchOutbox


async def outbox(db: async_sessionmaker[AsyncSession], workspace_id: str) -> list[DispatchOutbox]:
    """The workspace's events waiting for the dispatcher, oldest first."""
    async with db() as session:
        query = select(DispatchOutbox).where(col(DispatchOutbox.workspace_id) == workspace_id)
        result = await session.execute(query.order_by(col(DispatchOutbox.id)))
        return list(result.scalars())


async def discard_outbox(database_url: str) -> None:
    """Empty the shared test database's outbox before a test starts a dispatcher: rows other tests left (their
    stacks had no dispatcher) must not reach this test's worker and SMTP sink."""
    engine = create_async_db_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(delete(DispatchOutbox))
    finally:
        await engine.dispose()


async def publish_journey(api: httpx.AsyncClient, api_key: str, trigger: str, waits_for: str | None = None) -> str:
    """Publish a journey that starts on `trigger` (and waits for `waits_for`) through the API; events of those
    names are then queued for the dispatcher."""
    steps: list[dict[str, object]] = [{"id": "end", "type": "end"}]
    start = "end"
    if waits_for is not None:
        steps.append({"id": "wait", "type": "wait_for_event", "event": waits_for, "timeout": "P1D",
                      "on_event": "end", "on_timeout": "end"})  # fmt: skip
        start = "wait"
    definition = {"trigger": {"event": trigger}, "start": start, "steps": steps}
    headers = {"Authorization": f"Bearer {api_key}"}
    created = await api.post("/v1/journeys", headers=headers, json={"name": f"on {trigger}", "definition": definition})
    assert created.status_code == 201, created.text
    journey_id = str(created.json()["id"])
    published = await api.post(f"/v1/journeys/{journey_id}/publish", headers=headers)
    assert published.status_code == 200, published.text
    return journey_id
