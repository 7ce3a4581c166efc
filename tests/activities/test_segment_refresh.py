"""The segment refresh activity: a full refresh in chunks (heartbeating how far it got, resuming from there), and
the incremental refresh that re-evaluates only the contacts time moved (an event leaving the window)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from activities.segments.contracts import RefreshProgress, RefreshSegmentInput
from activities.segments.refresh import SegmentActivities
from domain.clock import utcnow
from domain.ids import new_id
from domain.segments.filters import parse_filter, to_json
from store.db import create_async_db_engine, session_factory
from store.models import Contact, Event
from store.models_segments import Segment
from store.segments import members_page
from tests.conftest import new_workspace

Sessions = async_sessionmaker[AsyncSession]
RECENT = {"event": "viewed", "window": {"days": 7}}


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_async_db_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


async def _world(sessions: Sessions, database_url: str, contacts: int, filter_: dict[str, Any]) -> tuple[str, str]:
    ws = (await new_workspace(database_url)).workspace.id
    segment = Segment(id=new_id("sg"), workspace_id=ws, name="s", filter=to_json(parse_filter(filter_)),
                      time_based=True)  # fmt: skip
    async with sessions() as session:
        session.add(segment)
        for n in range(contacts):
            contact = f"{ws}_{n}"
            session.add(Contact(id=contact, workspace_id=ws, email=f"{n}@example.com"))
            session.add(Event(id=new_id("ev"), workspace_id=ws, message_id=new_id("m"), type="track", name="viewed",
                              contact_id=contact, timestamp=utcnow() - timedelta(days=6)))  # fmt: skip
        await session.commit()
    return ws, segment.id


async def test_a_full_refresh_goes_in_chunks_and_resumes_from_its_heartbeat(
    sessions: Sessions, database_url: str
) -> None:
    ws, segment_id = await _world(sessions, database_url, 5, RECENT)
    beats: list[Any] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details[0])
    activities = SegmentActivities(sessions, chunk=2, entry_rate=0)
    done = await env.run(activities.refresh, RefreshSegmentInput(workspace_id=ws, segment_id=segment_id, full=True))
    assert (done.chunks, done.entered, done.exited) == (3, 5, 0)
    assert [RefreshProgress.model_validate(b).after for b in beats] == [f"{ws}_1", f"{ws}_3", None]
    async with sessions() as session:
        assert len(await members_page(session, segment_id, after=None, limit=10)) == 5


async def test_an_incremental_refresh_sees_events_leave_the_window(sessions: Sessions, database_url: str) -> None:
    ws, segment_id = await _world(sessions, database_url, 3, RECENT)
    activities = SegmentActivities(sessions, chunk=100, entry_rate=0)
    env = ActivityEnvironment()
    request = RefreshSegmentInput(workspace_id=ws, segment_id=segment_id)
    first = await env.run(activities.refresh, request)
    assert (first.incremental, first.entered) == (False, 3)  # never refreshed: a full one
    async with sessions() as session:  # two days pass: one contact's only view is now 8 days old
        await session.execute(
            update(Segment).where(Segment.id == segment_id).values(refreshed_at=utcnow() - timedelta(days=2))  # type: ignore[arg-type]
        )
        await session.execute(
            update(Event).where(Event.contact_id == f"{ws}_0").values(timestamp=utcnow() - timedelta(days=8))  # type: ignore[arg-type]
        )
        await session.commit()
    second = await env.run(activities.refresh, request)
    assert (second.incremental, second.entered, second.exited) == (True, 0, 1)
    async with sessions() as session:
        left = [m.contact_id for m in await members_page(session, segment_id, after=None, limit=10)]
    assert left == [f"{ws}_1", f"{ws}_2"]
