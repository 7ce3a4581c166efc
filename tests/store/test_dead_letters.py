"""The dead-letter store on SQLite and PostgreSQL: idempotent on (kind, subject), reopened by a new failure after
a resolution, filtered and paged; and migration 0012 moving journey dead letters into it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.clock import utcnow
from domain.dead_letters.model import DeadLetterIn, DeadLetterKind, DeadLetterStatus
from store.db import create_async_db_engine, session_factory
from store.dead_letters import DeadLetterFilter, get_dead_letter, list_dead_letters, record_dead_letter, resolve
from store.migrate import alembic_config

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_async_db_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


def letter(
    workspace_id: str, subject: str, kind: DeadLetterKind = DeadLetterKind.SEND, **values: object
) -> DeadLetterIn:
    fields: dict[str, object] = {
        "error_type": "PermanentDeliveryError",
        "error": "550 no such user",
        "failed_at": utcnow(),
        "input": {"step_id": "welcome"},
        **values,
    }
    return DeadLetterIn(workspace_id=workspace_id, kind=kind, subject_id=subject, **fields)  # type: ignore[arg-type]


async def test_recording_is_idempotent_on_kind_and_subject_and_a_new_failure_reopens(sessions: Sessions) -> None:
    ws = f"ws_{uuid.uuid4().hex[:8]}"
    async with sessions() as session:
        assert await record_dead_letter(session, letter(ws, "key-1", attempts=3)) is True
        assert await record_dead_letter(session, letter(ws, "key-1", attempts=3)) is False  # a retried activity
        assert await record_dead_letter(session, letter(ws, "key-1", DeadLetterKind.DISPATCH)) is True  # other kind
        await session.commit()
        [row] = await list_dead_letters(session, DeadLetterFilter(workspace_id=ws, kind=DeadLetterKind.SEND))
        assert (row.status, row.attempts, row.error) == ("open", 3, "550 no such user")
        row_id = row.id or 0
        assert await resolve(session, row_id, status=DeadLetterStatus.REPLAYED, actor="cli:ops", at=utcnow())
        assert not await resolve(session, row_id, status=DeadLetterStatus.DISCARDED, actor="x", at=utcnow())
        await session.commit()

        again = letter(ws, "key-1", error="451 try later", error_type="ChainExhausted", attempts=2)
        assert await record_dead_letter(session, again) is True  # failed again after its replay: open again
        await session.commit()
        session.expire_all()
        reopened = await get_dead_letter(session, row_id, ws)
    assert reopened is not None
    assert (reopened.status, reopened.attempts, reopened.error_type) == ("open", 5, "ChainExhausted")
    assert (reopened.resolved_at, reopened.resolved_by) == (None, None)
    assert reopened.first_failed_at <= reopened.last_failed_at


async def test_filters_and_hostile_text(sessions: Sessions) -> None:
    ws = f"ws_{uuid.uuid4().hex[:8]}"
    now = utcnow()
    async with sessions() as session:
        await record_dead_letter(
            session, letter(ws, "a", error="100% bad_thing\x00", failed_at=now - timedelta(hours=2))
        )
        await record_dead_letter(session, letter(ws, "b", DeadLetterKind.DISPATCH, error="ValueError('x')"))
        await record_dead_letter(session, letter(ws, "c", DeadLetterKind.JOURNEY_STEP, error_type="UnknownStep"))
        await session.commit()

        async def subjects(**flt: object) -> list[str]:
            rows = await list_dead_letters(session, DeadLetterFilter(workspace_id=ws, **flt))  # type: ignore[arg-type]
            return [row.subject_id for row in rows]

        assert await subjects() == ["c", "b", "a"]  # newest first
        assert await subjects(kind=DeadLetterKind.DISPATCH) == ["b"]
        assert await subjects(error="unknownstep") == ["c"]  # the type too, case-insensitive
        assert await subjects(error="100%") == ["a"]  # LIKE wildcards are taken literally
        assert await subjects(error="%") == ["a"]
        assert await subjects(since=now - timedelta(hours=1)) == ["c", "b"]
        assert await subjects(until=now - timedelta(hours=1)) == ["a"]
        first = (await list_dead_letters(session, DeadLetterFilter(workspace_id=ws), limit=1))[0]
        assert [
            r.subject_id for r in await list_dead_letters(session, DeadLetterFilter(workspace_id=ws), before=first.id)
        ] == ["b", "a"]
        [stored] = await list_dead_letters(session, DeadLetterFilter(workspace_id=ws, subject_id="a"))
    assert stored.error == "100% bad_thing\\x00"  # stored escaped, never refused by PostgreSQL


def test_migration_0012_moves_journey_dead_letters(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0011")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO journey_dead_letter (workspace_id, journey_id, version, contact_id, workflow_id, run_id,"
                " step_id, error_type, reason, failed_at) VALUES ('ws_1', 'jr_1', 2, 'ct_1', 'journey:ws_1:jr_1:ct_1',"
                " 'run-1', 'welcome', 'JourneyStepFailed', 'step welcome failed', '2026-12-01 10:00:00.000000')"
            )
        )
    command.upgrade(config, "0012")
    with engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        row = conn.execute(sa.text("SELECT kind, subject_id, journey_id, input, error, status FROM dead_letter")).one()
    assert "journey_dead_letter" not in tables
    assert row[:3] == ("journey_step", "journey:ws_1:jr_1:ct_1:run-1", "jr_1")
    assert '"version": 2' in row[3]
    assert '"step_id": "welcome"' in row[3]
    assert row[4:] == ("step welcome failed", "open")
    command.downgrade(config, "0011")
    with engine.connect() as conn:
        back = conn.execute(sa.text("SELECT version, step_id, reason FROM journey_dead_letter")).one()
    engine.dispose()
    assert tuple(back) == (2, "welcome", "step welcome failed")
