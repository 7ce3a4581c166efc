"""The segments consumer: a batch re-evaluates only its contacts and only the segments what happened can affect;
twice is once; entries are paced, and a paced entry holds back none of the contact's live events."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.segments import SegmentConsumer
from domain.clock import utcnow
from domain.events.interest import OutboxKind
from domain.ids import new_id
from domain.segments.filters import parse_filter, to_json
from store.models import Contact, DispatchOutbox, Event
from store.models_segments import Segment
from store.outbox import OutboxEvent, OutboxRow, claim, enqueue, held_back
from store.segment_sql import Scope
from store.segments import apply_diff, is_member, load
from tests.conftest import new_workspace

Sessions = async_sessionmaker[AsyncSession]
VIEWED_TWICE = {"event": "viewed", "where": [{"property": "path", "op": "eq", "value": "/pricing"}],
                "count": {"op": "gte", "value": 2}, "window": {"days": 7}}  # fmt: skip
PRO = {"attribute": "plan", "op": "eq", "value": "pro"}


async def _setup(sessions: Sessions, database_url: str, *filters: dict[str, Any]) -> tuple[str, str, list[str]]:
    ws = (await new_workspace(database_url)).workspace.id
    contact = new_id("ct")
    ids = []
    async with sessions() as session:
        session.add(Contact(id=contact, workspace_id=ws, email="a@example.com", attributes={"plan": "pro"}))
        for raw in filters:
            row = Segment(id=new_id("sg"), workspace_id=ws, name="s", filter=to_json(parse_filter(raw)))
            session.add(row)
            ids.append(row.id)
        await session.commit()
    return ws, contact, ids


async def _view(sessions: Sessions, ws: str, contact: str) -> OutboxEvent:
    now = utcnow()
    event = Event(id=new_id("ev"), workspace_id=ws, message_id=new_id("m"), type="track", name="viewed",
                  contact_id=contact, properties={"path": "/pricing"}, timestamp=now)  # fmt: skip
    async with sessions() as session:
        session.add(event)
        await session.commit()
    return OutboxEvent(ws, contact, event.id, "viewed", {"path": "/pricing"}, now)


async def _entries(sessions: Sessions, ws: str) -> list[DispatchOutbox]:
    async with sessions() as session:
        result = await session.execute(
            select(DispatchOutbox).where(
                DispatchOutbox.workspace_id == ws,  # type: ignore[arg-type]
                DispatchOutbox.kind == OutboxKind.SEGMENT_ENTERED,  # type: ignore[arg-type]
            )
        )
        return list(result.scalars())


async def test_an_event_moves_its_contact_into_the_segments_counting_it(sessions: Sessions, database_url: str) -> None:
    ws, contact, (viewers, pros) = await _setup(sessions, database_url, VIEWED_TWICE, PRO)
    consumer = SegmentConsumer(sessions, entry_rate=0)
    await enqueue_and_consume(sessions, consumer, [await _view(sessions, ws, contact)])
    async with sessions() as session:
        assert not await is_member(session, ws, viewers, contact)
    second = await _view(sessions, ws, contact)
    await enqueue_and_consume(sessions, consumer, [second])
    await enqueue_and_consume(sessions, consumer, [second])  # at-least-once: the same row again
    async with sessions() as session:
        assert await is_member(session, ws, viewers, contact)
        # an event row does not re-evaluate an attribute segment (it would have matched)
        assert not await is_member(session, ws, pros, contact)
    assert [(r.contact_id, r.name) for r in await _entries(sessions, ws)] == [(contact, viewers)]
    change = OutboxEvent(ws, contact, "c1", "updated", {}, utcnow(), OutboxKind.CONTACT)
    await enqueue_and_consume(sessions, consumer, [change])
    async with sessions() as session:
        assert await is_member(session, ws, pros, contact)


async def enqueue_and_consume(sessions: Sessions, consumer: SegmentConsumer, events: list[OutboxEvent]) -> None:
    await consumer.consume([OutboxRow(i, e, 0) for i, e in enumerate(events)])


async def test_entries_are_paced_and_hold_back_no_live_event(sessions: Sessions, database_url: str) -> None:
    ws, contact, (pros,) = await _setup(sessions, database_url, PRO)
    others = [new_id("ct") for _ in range(4)]
    async with sessions() as session:
        for other in others:
            session.add(Contact(id=other, workspace_id=ws, email=f"{other}@example.com", attributes={"plan": "pro"}))
        await session.commit()
    now = utcnow()
    async with sessions() as session, session.begin():
        row = await session.get(Segment, pros)
        assert row is not None
        diff = await apply_diff(session, ws, load(row), now, Scope(), entry_rate=10.0)
    assert len(diff.entered) == 5
    due = sorted(r.next_attempt_at for r in await _entries(sessions, ws) if r.next_attempt_at is not None)
    assert len(due) == 5
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(due)]
    assert all(abs(gap - 0.1) < 1e-3 for gap in gaps), gaps
    assert due[0] > now
    # a live event of a contact whose entry is not yet due is dispatched at once
    async with sessions() as session:
        await enqueue(session, [OutboxEvent(ws, contact, "live", "viewed", {}, now)], now)
        await session.commit()
    async with sessions() as session:
        claimed = [r for r in await claim(session, now + timedelta(milliseconds=1), 100) if r.event.workspace_id == ws]
        assert [r.event.event_id for r in claimed] == ["live"]
        assert await held_back(session, claimed) == {}
