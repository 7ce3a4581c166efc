"""The row hook (store/audit_hook.py): a row of an audited model written through any session is an entry, with
the changed columns only and sensitive ones masked; several flushes of a row fold into one entry; bookkeeping
columns alone, unaudited models, data-plane transactions and rolled-back writes record nothing. SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.clock import utcnow
from mauntic.request_context import current_actor, current_request_id
from store.audit import verify_workspace
from store.audit_hook import data_plane
from store.audit_registry import REGISTRY
from store.models import Contact, Event, Journey
from store.models_identity import ContactMerge
from store.models_segments import Segment
from tests.conftest import new_workspace

Sessions = async_sessionmaker[AsyncSession]


async def _entries(db: Sessions, ws: str) -> list[dict[str, Any]]:
    async with db() as session:
        rows = await session.execute(
            text("SELECT seq, actor, action, target_type, target_id, request_id, document FROM audit_log "
                 "WHERE workspace_id = :w ORDER BY seq"), {"w": ws},
        )  # fmt: skip
        return [{**row._asdict(), **json.loads(row.document)} for row in rows]


def _ws() -> str:
    return f"ws_{uuid.uuid4().hex[:8]}"


async def test_create_update_delete_record_changed_columns_masked(db: Sessions, database_url: str) -> None:
    ws = (await new_workspace(database_url)).workspace.id
    opening = len(await _entries(db, ws))
    actor, request = current_actor.set("key:k1"), current_request_id.set("req-hook")
    try:
        async with db() as session:
            contact = Contact(id="ct_hook_" + ws[-8:], workspace_id=ws, email="ada@example.com", first_name="Ada")
            session.add(contact)
            await session.commit()
            contact.first_name = "Grace"
            contact.updated_at = utcnow()  # bookkeeping: not part of the diff
            await session.commit()
            await session.delete(contact)
            await session.commit()
    finally:
        current_actor.reset(actor)
        current_request_id.reset(request)
    created, updated, deleted = (await _entries(db, ws))[opening:]
    assert (created["action"], created["target_type"], created["target_id"]) == (
        "contact.created",
        "contact",
        contact.id,
    )
    assert created["actor"] == "key:k1"
    assert created["request_id"] == "req-hook"
    assert created["before"] is None
    assert created["after"]["email"] == "a***@example.com"
    assert "created_at" not in created["after"]
    assert updated["action"] == "contact.updated"
    assert (updated["before"], updated["after"]) == ({"first_name": "Ada"}, {"first_name": "Grace"})
    assert deleted["action"] == "contact.deleted"
    assert deleted["before"]["first_name"] == "Grace"
    assert deleted["after"] is None
    async with db() as session:
        assert (await verify_workspace(session, ws)).ok


async def test_flushes_of_one_row_fold_into_one_entry(db: Sessions) -> None:
    ws = _ws()
    async with db() as session:
        segment = Segment(id="sg_" + ws, workspace_id=ws, name="a", filter={"attribute": "plan"})
        session.add(segment)
        await session.flush()
        segment.name = "b"
        await session.flush()
        segment.name = "c"
        await session.commit()
        segment.name = "d"
        await session.flush()
        segment.name = "e"
        segment.member_count = 12  # ignored column
        await session.commit()
    entries = await _entries(db, ws)
    assert [e["action"] for e in entries] == ["segment.created", "segment.updated"]
    assert entries[0]["after"]["name"] == "c"
    assert (entries[1]["before"], entries[1]["after"]) == ({"name": "c"}, {"name": "e"})


async def test_bookkeeping_alone_unaudited_models_and_the_data_plane_record_nothing(db: Sessions) -> None:
    ws = _ws()
    async with db() as session:
        segment = Segment(id="sg_" + ws, workspace_id=ws, name="a")
        session.add(segment)
        await session.commit()
        segment.member_count, segment.refreshed_at = 5, utcnow()
        await session.commit()
        assert Event not in REGISTRY
        data_plane(session)
        segment.name = "renamed by the data plane"
        await session.commit()
        segment.name = "renamed after it"  # the mark lasted one transaction
        await session.commit()
    assert [e["action"] for e in await _entries(db, ws)] == ["segment.created", "segment.updated"]


async def test_a_rolled_back_write_leaves_no_entry(db: Sessions) -> None:
    ws = _ws()
    async with db() as session:
        session.add(Segment(id="sg_" + ws, workspace_id=ws, name="a"))
        await session.flush()  # queued by the flush ...
        await session.rollback()  # ... and dropped with the transaction
        session.add(Segment(id="sg2_" + ws, workspace_id=ws, name="b"))
        await session.commit()
    assert [e["target_id"] for e in await _entries(db, ws)] == ["sg2_" + ws]


async def test_named_changes_merges_and_journeys(db: Sessions, database_url: str) -> None:
    ws = (await new_workspace(database_url)).workspace.id
    opening = len(await _entries(db, ws))
    async with db() as session:
        merge = ContactMerge(id="mg_" + ws, workspace_id=ws, survivor_id="ct_a", merged_id="ct_b", workflow_id="wf")
        journey = Journey(id="jr_" + ws[-8:], workspace_id=ws, name="j")
        session.add_all([merge, journey])
        await session.commit()
        merge.status, merge.moved, merge.completed_at = "completed", {"event": ["ev_1"]}, utcnow()
        journey.status, journey.published_version = "published", 1
        await session.commit()
        journey.paused_at = utcnow()
        await session.commit()
        merge.status = "undone"
        journey.paused_at = None
        await session.commit()
    actions = [(e["action"], e["target_id"]) for e in (await _entries(db, ws))[opening:]]
    assert actions == [
        ("merge.created", merge.id),  # rows added: in the order they were added
        ("journey.created", journey.id),
        ("journey.published", journey.id),  # rows changed in one flush: by target type, then id
        ("merge.completed", merge.id),
        ("journey.paused", journey.id),
        ("journey.resumed", journey.id),
        ("merge.undone", merge.id),
    ]
    completed = (await _entries(db, ws))[opening + 3]
    assert completed["after"] == {"status": "completed", "survivor_id": "ct_a", "merged_id": "ct_b"}  # `moved`: no
