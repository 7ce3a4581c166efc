"""A consent change re-evaluates the segments that read consent: it queues a contact row in its own transaction,
and the segments consumer moves the contact in or out on it (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.segments import SegmentConsumer
from domain.consent.model import ConsentSource, ConsentStatus
from domain.events.interest import OutboxKind
from domain.ids import new_id
from domain.segments.filters import parse_filter, to_json
from store.consent import record_consent
from store.models import Contact
from store.models_segments import Segment
from store.outbox import OutboxEvent, OutboxRow
from store.segments import is_member
from tests.conftest import new_workspace
from tests.outbox_rows import outbox

Sessions = async_sessionmaker[AsyncSession]
WITHDRAWN = {"consent": {"channel": "email", "status": "withdrawn"}}


async def _queued(sessions: Sessions, ws: str) -> list[OutboxRow]:
    rows = [row for row in await outbox(sessions, ws) if row.kind == OutboxKind.CONTACT]
    return [
        OutboxRow(i, OutboxEvent(ws, r.contact_id, r.event_id, r.name, r.properties, r.occurred_at, r.kind), 0)
        for i, r in enumerate(rows)
    ]


async def test_a_consent_change_moves_the_contact_in_and_out(sessions: Sessions, database_url: str) -> None:
    ws = (await new_workspace(database_url)).workspace.id
    ada, withdrawn = new_id("ct"), new_id("sg")
    async with sessions() as session:
        session.add(Contact(id=ada, workspace_id=ws, email="ada@x.test"))
        session.add(Segment(id=withdrawn, workspace_id=ws, name="w", filter=to_json(parse_filter(WITHDRAWN))))
        await session.commit()
    consumer = SegmentConsumer(sessions, entry_rate=0)

    async with sessions() as session:
        await record_consent(
            session, ws, ada, channel="email", wanted=ConsentStatus.WITHDRAWN, source=ConsentSource.API
        )
        await session.commit()
    rows = await _queued(sessions, ws)
    assert [(r.event.contact_id, r.event.name) for r in rows] == [(ada, "consent")]
    await consumer.consume(rows)
    async with sessions() as session:
        assert await is_member(session, ws, withdrawn, ada)

    async with sessions() as session:
        await record_consent(session, ws, ada, channel="email", wanted=ConsentStatus.GRANTED, source=ConsentSource.API)
        await session.commit()
    rows = await _queued(sessions, ws)
    assert len(rows) == 2
    await consumer.consume(rows[1:])
    async with sessions() as session:
        assert not await is_member(session, ws, withdrawn, ada)

    async with sessions() as session:  # no change, no row
        await record_consent(session, ws, ada, channel="email", wanted=ConsentStatus.GRANTED, source=ConsentSource.API)
        await session.commit()
    assert len(await _queued(sessions, ws)) == 2
