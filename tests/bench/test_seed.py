"""The benchmarks' bulk seeding writes rows the application reads back like ingested ones, the same on both
databases."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlmodel import col

from bench.seed import contact_id, seed
from store.db import create_async_db_engine, session_factory
from store.models import Contact, Event


async def test_seeded_rows_read_back_through_the_models(database_url: str) -> None:
    workspace = f"ws_seed_{uuid.uuid4().hex[:8]}"
    result = seed(database_url, contacts=300, events=2000, workspace_id=workspace, migrate=False)
    assert (result.contacts, result.events) == (300, 2000)
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            first = await session.get(Contact, contact_id(1, workspace))
            assert first is not None
            assert first.created_at.tzinfo is not None
            assert set(first.attributes) == {"plan", "country", "age", "lifetime_value", "beta", "signup_date"}
            assert isinstance(first.attributes["beta"], bool)
            events = (await session.execute(select(Event).where(col(Event.workspace_id) == workspace))).scalars().all()
            assert len(events) == 2000
            assert all(e.timestamp <= result.now for e in events)
            pricing = [e for e in events if e.name == "Page Viewed" and e.properties.get("path") == "/pricing"]
            assert pricing
            counted = await session.execute(
                select(func.count(func.distinct(Event.contact_id))).where(col(Event.workspace_id) == workspace)
            )
            assert 1 < counted.scalar_one() <= 300
    finally:
        await engine.dispose()
