"""store/merges.py on every table of the registry (store/contact_owned.py), rows built from the table itself: the
merged contact's rows move to the survivor, a row whose twin the survivor has stays (recorded as skipped), and
move_back returns exactly the moved rows, leaving what the survivor had or gained since."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import JSON, BigInteger, DateTime, Float, Integer, Table, Text, TypeDecorator, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel

from domain.ids import new_id
from domain.journeys.runtime import journey_workflow_id
from store.contact_owned import CONTACT_OWNED, ContactOwned
from store.merges import move_back, move_rows, readdress_enrollments
from store.models import Contact
from store.workspaces import NewWorkspace

Sessions = async_sessionmaker[AsyncSession]
_serial = itertools.count(1)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
# what each table's foreign keys point at, filled in per test
Refs = dict[str, str]


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


def _value(table: Table, column: Any, refs: Refs) -> Any:
    for fk in column.foreign_keys:
        return refs[fk.column.table.name]
    if column.name == "workspace_id":
        return refs["workspace"]
    if column.name == "journey_id":
        return refs["journey"]
    n = next(_serial)
    kind = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, DateTime):
        return NOW
    if isinstance(kind, JSON):
        return {}
    if isinstance(kind, Integer | BigInteger):
        return n
    if isinstance(kind, Float):
        return float(n)
    if isinstance(kind, Text):
        return f"t{n}"
    length = getattr(kind, "length", None) or 40
    return f"v{n}"[:length]


def row_for(table: Table, refs: Refs, **given: Any) -> dict[str, Any]:
    """A row of `table` with every required column filled (foreign keys to the given rows)."""
    values: dict[str, Any] = {}
    for column in table.c:
        if column.name in given:
            values[column.name] = given[column.name]
        elif column.autoincrement is True or (column.primary_key and isinstance(column.type, Integer)):
            continue
        elif column.nullable and not column.primary_key:
            continue
        elif column.default is not None or column.server_default is not None:
            continue
        else:
            values[column.name] = _value(table, column, refs)
    return values


async def _insert(session: AsyncSession, name: str, refs: Refs, **given: Any) -> None:
    await session.execute(insert(_table(name)).values(**row_for(_table(name), refs, **given)))


async def _keys(session: AsyncSession, entry: ContactOwned, contact_id: str) -> set[tuple[Any, ...]]:
    sql = f"SELECT {', '.join(entry.key)} FROM {entry.table} WHERE {entry.contact_column} = :c"
    return {tuple(r) for r in (await session.execute(text(sql), {"c": contact_id})).all()}


async def _contacts(session: AsyncSession, workspace_id: str) -> tuple[str, str, Refs]:
    survivor, merged = new_id("ct"), new_id("ct")
    for contact_id in (survivor, merged):
        session.add(Contact(id=contact_id, workspace_id=workspace_id, email=f"{contact_id}@example.test"))
    await session.flush()
    refs: Refs = {"workspace": workspace_id, "contact": merged}
    journey = row_for(_table("journey"), refs, id=new_id("jn"))
    await session.execute(insert(_table("journey")).values(**journey))
    refs["journey"] = journey["id"]
    return survivor, merged, refs


def _twin_values(entry: ContactOwned, n: int, journeys: list[str]) -> dict[str, Any]:
    """Values of the unique-with columns, the same for the same n (a twin), different otherwise."""
    return {
        column: journeys[n - 1] if column == "journey_id" else f"twin-{entry.table[:8]}-{n}"
        for column in entry.unique_with
    }


@pytest.mark.parametrize("entry", CONTACT_OWNED, ids=[e.table for e in CONTACT_OWNED])
async def test_rows_move_twins_stay_and_move_back_is_exact(
    db: Sessions, workspace: NewWorkspace, entry: ContactOwned
) -> None:
    ws = workspace.workspace.id
    async with db() as session:
        survivor, merged, refs = await _contacts(session, ws)
        as_merged = {**refs, "contact": merged}
        as_survivor = {**refs, "contact": survivor}
        column = entry.contact_column
        journeys = [refs["journey"]]
        for _ in range(2):  # twins differ by journey in the per-(journey, contact) tables
            journey = row_for(_table("journey"), refs, id=new_id("jn"))
            await session.execute(insert(_table("journey")).values(**journey))
            journeys.append(journey["id"])
        if entry.unique_with:
            await _insert(session, entry.table, as_merged, **{column: merged, **_twin_values(entry, 1, journeys)})
            await _insert(session, entry.table, as_merged, **{column: merged, **_twin_values(entry, 2, journeys)})
            await _insert(session, entry.table, as_survivor, **{column: survivor, **_twin_values(entry, 2, journeys)})
        else:
            await _insert(session, entry.table, as_merged, **{column: merged})
            await _insert(session, entry.table, as_merged, **{column: merged})
            await _insert(session, entry.table, as_survivor, **{column: survivor})
        await session.commit()

        merged_before = await _keys(session, entry, merged)
        survivor_before = await _keys(session, entry, survivor)
        assert len(merged_before) == 2
        assert len(survivor_before) == 1

        moved, skipped = await move_rows(session, merged, survivor)
        await session.commit()
        moved_keys = {tuple(k) for k in moved.get(entry.table, [])}
        skipped_keys = {tuple(k) for k in skipped.get(entry.table, [])}
        if entry.unique_with:
            assert len(moved_keys) == 1, moved
            assert len(skipped_keys) == 1, skipped
            assert await _keys(session, entry, merged) == skipped_keys  # the twin stayed
        else:
            assert len(moved_keys) == 2
            assert not skipped_keys
            assert await _keys(session, entry, merged) == set()
        assert moved_keys | skipped_keys == merged_before
        assert await _keys(session, entry, survivor) == survivor_before | moved_keys

        # the survivor gains a row after the merge: an unmerge leaves it where it is
        gained = {column: survivor}
        if entry.unique_with:
            gained.update(_twin_values(entry, 3, journeys))
        await _insert(session, entry.table, as_survivor, **gained)
        await session.commit()
        survivor_after_merge = await _keys(session, entry, survivor)

        count = await move_back(session, moved, survivor, merged)
        await session.commit()
        assert count == len(moved_keys)
        assert await _keys(session, entry, merged) == merged_before
        assert await _keys(session, entry, survivor) == survivor_after_merge - moved_keys


async def test_moved_enrollments_name_the_new_owner_s_workflow(db: Sessions, workspace: NewWorkspace) -> None:
    ws = workspace.workspace.id
    entry = next(e for e in CONTACT_OWNED if e.table == "journey_enrollment")
    async with db() as session:
        survivor, merged, refs = await _contacts(session, ws)
        old = journey_workflow_id(ws, refs["journey"], merged)
        await _insert(session, entry.table, refs, contact_id=merged, workflow_id=old)
        await session.commit()
        moved, _ = await move_rows(session, merged, survivor)
        await readdress_enrollments(session, moved["journey_enrollment"], survivor)
        await session.commit()
        query = select(_table("journey_enrollment").c.workflow_id).where(
            _table("journey_enrollment").c.journey_id == refs["journey"]
        )
        assert (await session.execute(query)).scalar_one() == journey_workflow_id(ws, refs["journey"], survivor)
        await move_back(session, moved, survivor, merged)
        await readdress_enrollments(session, moved["journey_enrollment"], merged)
        await session.commit()
        assert (await session.execute(query)).scalar_one() == old


async def test_kept_tables_stay_whole_and_are_recorded_skipped(db: Sessions, workspace: NewWorkspace) -> None:
    async with db() as session:
        survivor, merged, refs = await _contacts(session, workspace.workspace.id)
        await _insert(session, "journey_enrollment", refs, contact_id=merged)
        await _insert(session, "event", refs, contact_id=merged)
        await session.commit()
        moved, skipped = await move_rows(session, merged, survivor, keep=("journey_enrollment",))
        await session.commit()
        assert "journey_enrollment" not in moved
        assert len(skipped["journey_enrollment"]) == 1
        assert len(moved["event"]) == 1
