"""The unique-identifier keys (store/identity_keys.py, migration 0028) on SQLite and PostgreSQL: the migration
backfills them by each workspace's policy, keeping the key on the newest of existing duplicates; imports write
them, match emails in any case, and a row whose email another contact holds is a row error, not a failed chunk."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from store.db import create_sync_db_engine
from store.import_chunks import ImportRun
from store.migrate import upgrade
from store.workspaces import NewWorkspace
from tests.conftest import postgres_database

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def fresh_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database of the test's dialect, migrated to 0027 (before the keys)."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path_factory.mktemp('keys') / 'before.db'}"
        upgrade(url, "0027")
        yield url
        return
    with postgres_database("0027") as url:
        yield url


def _contact(connection: object, cid: str, ws: str, email: str | None, age: int, merged: str | None = None) -> None:
    at = T0 + timedelta(minutes=age)
    connection.execute(  # type: ignore[attr-defined]
        text("INSERT INTO contact (id, workspace_id, email, attributes, created_at, updated_at, merged_into) "
             "VALUES (:id, :ws, :email, '{}', :at, :at, :merged)"),
        {"id": cid, "ws": ws, "email": email, "at": at, "merged": merged},
    )  # fmt: skip


def test_the_migration_keeps_the_key_on_the_newest_duplicate(fresh_url: str) -> None:
    engine = create_sync_db_engine(fresh_url)
    with engine.begin() as connection:
        for ws in ("ws_a", "ws_b"):
            connection.execute(
                text("INSERT INTO workspace (id, name, created_at) VALUES (:id, :id, :at)"), {"id": ws, "at": T0}
            )
        connection.execute(
            text("INSERT INTO merge_policy (workspace_id, policy, updated_at) VALUES ('ws_b', :p, :at)"),
            {"p": '{"unique": ["external_id"], "match": [["external_id"]]}', "at": T0},
        )
        _contact(connection, "ct_old", "ws_a", "Dup@example.test", 1)
        _contact(connection, "ct_new", "ws_a", "dup@example.test", 2)
        _contact(connection, "ct_merged", "ws_a", "dup@example.test", 3, merged="ct_new")
        _contact(connection, "ct_solo", "ws_a", "solo@example.test", 1)
        _contact(connection, "ct_none", "ws_a", None, 1)
        _contact(connection, "ct_b", "ws_b", "dup@example.test", 1)  # email not unique in ws_b
    engine.dispose()
    upgrade(fresh_url)
    engine = create_sync_db_engine(fresh_url)
    with engine.connect() as connection:
        keys: dict[str, str | None] = {
            row.id: row.email_key for row in connection.execute(text("SELECT id, email_key FROM contact"))
        }
    engine.dispose()
    assert keys == {
        "ct_old": None,
        "ct_new": "dup@example.test",
        "ct_merged": None,
        "ct_solo": "solo@example.test",
        "ct_none": None,
        "ct_b": None,
    }
    engine = create_sync_db_engine(fresh_url)
    with pytest.raises(Exception, match=r"(?i)unique"), engine.begin() as connection:
        connection.execute(
            text("UPDATE contact SET email_key = 'solo@example.test' WHERE id = 'ct_old'")
        )  # the index holds
    engine.dispose()


async def test_an_import_writes_keys_and_a_taken_email_is_a_row_error(
    client: httpx.AsyncClient, admin_headers: dict[str, str], database_url: str, workspace: NewWorkspace
) -> None:
    held = await client.post("/v1/contacts", headers=admin_headers, json={"email": "held@example.test"})
    other = await client.post("/v1/contacts", headers=admin_headers, json={"external_id": "crm-7"})
    assert held.status_code == other.status_code == 201
    csv = (
        "email,external_id,plan\n"
        "Ann@example.test,,a\n"
        "ann@example.test,,b\n"  # the same address: the same contact
        "HELD@example.test,,c\n"  # the contact created through the API, in another case
        "held@example.test,crm-7,d\n"  # crm-7's contact may not take the email another contact holds
        "new@example.test,,e\n"
    )
    mapping = '{"email":"email","external_id":"external_id","plan":"attributes.plan"}'
    headers = {**admin_headers, "Content-Type": "text/csv", "Import-Mapping": mapping}
    started = await client.post("/v1/imports", content=csv.encode(), headers=headers)
    assert started.status_code == 202, started.text
    engine = create_sync_db_engine(database_url)
    final = await asyncio.to_thread(ImportRun(engine, started.json()["id"], chunk_rows=100).run, lambda _: None)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT email, email_key, external_id, attributes FROM contact WHERE workspace_id = :ws"),
            {"ws": workspace.workspace.id},
        ).all()
    engine.dispose()
    assert (final.status, final.imported, final.updated, final.failed) == ("completed", 2, 2, 1)
    keys = {row.email_key for row in rows}
    assert keys == {"ann@example.test", "held@example.test", "new@example.test", None}
    assert len(rows) == 4  # ann, held, crm-7, new
