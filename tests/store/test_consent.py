"""store/consent.record_consent under concurrency, on the real database: writers on separate connections racing
for one (contact, channel, topic) never hit the unique key, and the history holds exactly one row per change, each
chained to the status before it."""

from __future__ import annotations

import asyncio
import itertools

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from domain.consent.model import ConsentSource, ConsentStatus
from domain.ids import new_id
from store.consent import Recorded, record_consent
from store.models import Contact
from store.models_consent import ConsentHistory, ContactConsent
from store.workspaces import NewWorkspace

WRITERS = 8


async def a_contact(db: async_sessionmaker[AsyncSession], workspace_id: str) -> str:
    async with db() as session:
        contact = Contact(id=new_id("ct"), workspace_id=workspace_id, email=f"{new_id('e')}@example.test")
        session.add(contact)
        await session.commit()
    return contact.id


async def write(
    db: async_sessionmaker[AsyncSession], ws: str, contact_id: str, wanted: ConsentStatus, start: asyncio.Event
) -> Recorded:
    async with db() as session:
        await start.wait()
        result = await record_consent(
            session, ws, contact_id, channel="email", topic="news", wanted=wanted, source=ConsentSource.API
        )
        await session.commit()
        return result


async def stored(db: async_sessionmaker[AsyncSession], contact_id: str) -> tuple[list[str], list[ConsentHistory]]:
    async with db() as session:
        rows = await session.execute(select(ContactConsent).where(col(ContactConsent.contact_id) == contact_id))
        history = await session.execute(
            select(ConsentHistory).where(col(ConsentHistory.contact_id) == contact_id).order_by(col(ConsentHistory.id))
        )
        return [row.status for row in rows.scalars()], list(history.scalars())


async def race(
    db: async_sessionmaker[AsyncSession], ws: str, contact_id: str, wanted: list[ConsentStatus]
) -> list[Recorded]:
    start = asyncio.Event()
    tasks = [asyncio.create_task(write(db, ws, contact_id, status, start)) for status in wanted]
    await asyncio.sleep(0.05)  # every writer holds its connection and waits at the line
    start.set()
    return await asyncio.gather(*tasks)


async def test_concurrent_first_writes_of_one_consent_store_one_row_and_one_change(
    db: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    contact_id = await a_contact(db, ws)

    results = await race(db, ws, contact_id, [ConsentStatus.WITHDRAWN] * WRITERS)

    assert sum(result.changed for result in results) == 1
    assert {result.row.status for result in results} == {"withdrawn"}
    statuses, history = await stored(db, contact_id)
    assert statuses == ["withdrawn"]
    assert [(h.previous_status, h.status) for h in history] == [(None, "withdrawn")]


async def test_concurrent_opposite_writes_chain_each_change_to_the_one_before(
    db: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    contact_id = await a_contact(db, ws)
    wanted = [ConsentStatus.GRANTED, ConsentStatus.WITHDRAWN] * (WRITERS // 2)

    results = await race(db, ws, contact_id, wanted)

    statuses, history = await stored(db, contact_id)
    assert len(history) == sum(result.changed for result in results) >= 1
    assert history[0].previous_status is None
    # no change recorded twice, none lost: each row starts where the one before ended, the last is the state
    assert all(h.previous_status == before.status for before, h in itertools.pairwise(history))
    assert all(h.previous_status != h.status for h in history)
    assert statuses == [history[-1].status]


async def test_a_repeat_after_the_race_changes_nothing(
    db: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    contact_id = await a_contact(db, ws)
    await race(db, ws, contact_id, [ConsentStatus.GRANTED] * 2)

    again = await race(db, ws, contact_id, [ConsentStatus.GRANTED])

    assert [result.changed for result in again] == [False]
    _, history = await stored(db, contact_id)
    assert len(history) == 1
