"""Audit entries are chained per workspace, committed with the caller's transaction, and tampering behind the
application's back is detected and named (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mauntic.request_context import current_actor, current_request_id
from store.audit import record_audit, verify_workspace

Sessions = async_sessionmaker[AsyncSession]


async def _record(db: Sessions, workspace_id: str, n: int) -> None:
    for i in range(n):
        async with db() as session:
            await record_audit(
                session,
                workspace_id=workspace_id,
                action="contact.update",
                target_type="contact",
                target_id=f"ct_{i}",
                before={"email": "jane@example.com"},
                after={"email": "joan@example.com"},
            )
            await session.commit()


async def _bypass(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL session_replication_role = replica"))


async def test_entries_carry_actor_request_and_a_masked_diff(db: Sessions) -> None:
    ws = f"ws_{uuid.uuid4().hex[:8]}"
    actor, request = current_actor.set("key:k1"), current_request_id.set("req-1")
    try:
        await _record(db, ws, 2)
    finally:
        current_actor.reset(actor)
        current_request_id.reset(request)
    async with db() as session:
        rows = (
            await session.execute(text("SELECT * FROM audit_log WHERE workspace_id = :w ORDER BY seq"), {"w": ws})
        ).all()
        assert [r.seq for r in rows] == [1, 2]
        assert rows[0].actor == "key:k1"
        assert rows[0].request_id == "req-1"
        assert json.loads(rows[0].document)["before"] == {"email": "j***@example.com"}
        assert rows[1].prev_hash == rows[0].hash
        assert (await verify_workspace(session, ws)).ok


async def test_a_rolled_back_transaction_leaves_no_entry(db: Sessions) -> None:
    ws = f"ws_{uuid.uuid4().hex[:8]}"
    async with db() as session:
        await record_audit(session, workspace_id=ws, action="x.y", target_type="x", target_id="1")
        await session.rollback()
        await session.commit()
        count = await session.execute(text("SELECT count(*) FROM audit_log WHERE workspace_id = :w"), {"w": ws})
        assert count.scalar_one() == 0


async def test_the_actor_defaults_to_system(db: Sessions) -> None:
    ws = f"ws_{uuid.uuid4().hex[:8]}"
    await _record(db, ws, 1)
    async with db() as session:
        actor = await session.execute(text("SELECT actor FROM audit_log WHERE workspace_id = :w"), {"w": ws})
        assert actor.scalar_one() == "system"


@pytest.mark.parametrize("tamper", ["edit", "delete", "swap"])
async def test_tampering_is_detected_and_named(db: Sessions, tamper: str) -> None:
    ws = f"ws_{uuid.uuid4().hex[:8]}"
    await _record(db, ws, 4)
    async with db() as session:
        await _bypass(session)
        params = {"w": ws}
        if tamper == "edit":
            await session.execute(
                text(
                    "UPDATE audit_log SET document = replace(document, 'ct_1', 'ct_9') "
                    "WHERE workspace_id = :w AND seq = 2"
                ),
                params,
            )
            expected = [("modified", 2)]
        elif tamper == "delete":
            await session.execute(text("DELETE FROM audit_log WHERE workspace_id = :w AND seq = 3"), params)
            expected = [("deleted", 3)]
        else:
            for old, new in ((2, -1), (3, 2), (-1, 3)):
                await session.execute(
                    text("UPDATE audit_log SET seq = :new WHERE workspace_id = :w AND seq = :old"),
                    {"w": ws, "old": old, "new": new},
                )
            expected = [("reordered", 2), ("reordered", 3)]
        await session.commit()
    async with db() as session:
        report = await verify_workspace(session, ws)
    assert [(p.kind, p.seq) for p in report.problems] == expected


async def test_postgresql_refuses_update_delete_and_truncate(db: Sessions) -> None:
    ws = f"ws_{uuid.uuid4().hex[:8]}"
    await _record(db, ws, 1)
    async with db() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("the append-only trigger is PostgreSQL's")
    for statement in (
        "UPDATE audit_log SET actor = 'x' WHERE workspace_id = :w",
        "DELETE FROM audit_log WHERE workspace_id = :w",
        "TRUNCATE audit_log",
    ):
        async with db() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(statement), {"w": ws})


async def test_concurrent_writers_never_fork_the_chain(db: Sessions) -> None:
    ws = f"ws_{uuid.uuid4().hex[:8]}"
    await asyncio.gather(*(_record(db, ws, 5) for _ in range(6)))
    async with db() as session:
        report = await verify_workspace(session, ws)
    assert report.ok
    assert report.entries == 30
