"""The SQL a segment filter compiles to selects exactly the contacts the reference evaluator picks, on SQLite and
PostgreSQL, over random contacts, events, scores, suppressions, memberships and filters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine

from domain.segments.filters import parse_filter
from domain.segments.reference import World, members
from store.db import create_sync_db_engine
from store.segment_sql import FilterCompiler, Scope
from tests.segment_worlds import NOW, filters, worlds, write_world


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_sync_db_engine(database_url)
    yield engine
    engine.dispose()


def _sql_members(engine: Engine, ws: str, raw: dict[str, object], scope: Scope | None = None) -> set[str]:
    query = FilterCompiler(engine.dialect.name, ws, NOW, scope or Scope()).members(parse_filter(raw))
    with engine.connect() as conn:
        return {str(cid).removeprefix(f"{ws}_") for cid in conn.execute(query).scalars()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds(), raw=filters())
def test_sql_matches_the_reference(engine: Engine, world: World, raw: dict[str, object]) -> None:
    ws = write_world(engine, world)
    expected = members(world, parse_filter(raw), NOW)
    assert _sql_members(engine, ws, raw) == expected, raw


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds(), raw=filters())
def test_a_scoped_evaluation_sees_only_its_contacts(engine: Engine, world: World, raw: dict[str, object]) -> None:
    ws = write_world(engine, world)
    chosen = world.contacts[::2]
    expected = members(world, parse_filter(raw), NOW, chosen)
    scope = Scope(contact_ids=[f"{ws}_{c.id}" for c in chosen])
    assert _sql_members(engine, ws, raw, scope) == expected, raw
