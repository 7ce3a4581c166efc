"""The event log, and recording ingested messages with their effects on contacts.

Built for the ingestion hot path: a handful of statements per workspace and transaction, whatever the number of
messages. Events go through SQLAlchemy Core (many rows, one statement); contacts are ORM objects only where
traits are applied to them. De-duplication rests on the `(workspace_id, message_id)` unique constraint.

Synchronous on purpose: the caller runs a transaction's whole unit of work in one call, on a writer thread on
SQLite or through `AsyncSession.run_sync` on PostgreSQL (see api/ingest_service.py, api/ingest_commit.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, cast

import orjson
from sqlalchemy import CursorResult, Select, Table, bindparam, select, text
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from domain.events.interest import EVERYTHING, Interest, OutboxKind
from domain.events.resolution import Refusal
from domain.events.segment import MessageType, SegmentMessage
from domain.ids import new_id
from store.audit_hook import data_plane
from store.company_groups import apply_groups
from store.contacts import apply_traits
from store.event_contacts import chunks, contacts_to_update, dialect_of, one_of, resolve_contacts
from store.identity_keys import stamp_keys
from store.ingest_identity import prepare
from store.ingest_merges import write_merges
from store.models import Event
from store.outbox import OutboxEvent, enqueue_sync
from store.queries import insert_ignoring

EVENT: Table = SQLModel.metadata.tables[Event.__tablename__]
# the types whose stored message must not be applied again (a late retry must not undo a newer one)
_LOOKED_UP = (MessageType.IDENTIFY, MessageType.GROUP)
_CHANGING = (MessageType.IDENTIFY.value, MessageType.GROUP.value)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: str
    message_id: str
    type: str
    name: str | None
    contact_id: str | None
    properties: dict[str, Any]
    timestamp: datetime


@dataclass
class Recorded:
    """Every message's row, new or already there, by message id; and how many were new. Messages refused by the
    identity rules (store/ingest_identity.py), by message id: stored neither as events nor on contacts."""

    events: dict[str, StoredEvent]
    inserted: int
    duplicates: int
    refused: dict[str, Refusal] = field(default_factory=dict)


@cache
def _by_message_id_query(dialect: str) -> Select[Any]:
    c = EVENT.c
    return select(c.id, c.message_id, c.type, c.name, c.contact_id, c.properties, c.timestamp).where(
        c.workspace_id == bindparam("ws"), one_of(c.message_id, "ids", dialect)
    )


def events_by_message_id(session: Session, workspace_id: str, message_ids: Sequence[str]) -> dict[str, StoredEvent]:
    query = _by_message_id_query(dialect_of(session))
    found: dict[str, StoredEvent] = {}
    for chunk in chunks(message_ids):
        for row in session.execute(query, {"ws": workspace_id, "ids": list(chunk)}):
            found[row.message_id] = StoredEvent(
                row.id, row.message_id, row.type, row.name, row.contact_id, row.properties, row.timestamp
            )
    return found


_COLUMNS = ("id", "message_id", "type", "name", "contact_id", "user_id", "anonymous_id", "timestamp", "received_at")
# PostgreSQL: one statement with one array per column, whatever the number of rows. A multi-row VALUES list
# would be a new, long statement for every batch size (parsed by psycopg and planned by the server each time).
_PG_INSERT = text(
    "INSERT INTO event (id, workspace_id, message_id, type, name, contact_id, user_id, anonymous_id, properties,"
    " context, timestamp, received_at)"
    " SELECT t.id, :ws, t.message_id, t.type, t.name, t.contact_id, t.user_id, t.anonymous_id, t.properties::json,"
    " t.context::json, t.timestamp, t.received_at"
    " FROM unnest(CAST(:id AS varchar[]), CAST(:message_id AS varchar[]), CAST(:type AS varchar[]),"
    " CAST(:name AS varchar[]), CAST(:contact_id AS varchar[]), CAST(:user_id AS varchar[]),"
    " CAST(:anonymous_id AS varchar[]), CAST(:properties AS text[]), CAST(:context AS text[]),"
    " CAST(:timestamp AS timestamptz[]), CAST(:received_at AS timestamptz[]))"
    " AS t(id, message_id, type, name, contact_id, user_id, anonymous_id, properties, context, timestamp, received_at)"
    " ON CONFLICT (workspace_id, message_id) DO NOTHING RETURNING message_id"
)


def insert_events(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert rows of one workspace, skipping message ids already stored; returns
    the message ids that were new. Rows go in message-id order, so concurrent retries of the same messages wait
    on each other without deadlocking."""
    if not rows:
        return set()
    ordered = sorted(rows, key=lambda row: str(row["message_id"]))
    dialect = dialect_of(session)
    if dialect == "postgresql":
        params: dict[str, Any] = {name: [row[name] for row in ordered] for name in _COLUMNS}
        params["properties"] = [_json(row["properties"]) for row in ordered]
        params["context"] = [_json(row["context"]) for row in ordered]
        params["ws"] = ordered[0]["workspace_id"]
        return set(session.execute(_PG_INSERT, params).scalars())
    # SQLite: the driver's executemany (one prepared statement); its row count tells whether all were new.
    result = cast(
        CursorResult[Any], session.execute(insert_ignoring(dialect, EVENT, "workspace_id", "message_id"), ordered)
    )
    if result.rowcount == len(ordered):
        return {str(row["message_id"]) for row in ordered}
    ids = [str(row["id"]) for row in ordered]
    return {
        mid for chunk in chunks(ids) for mid in session.execute(_mine_query(dialect), {"ids": list(chunk)}).scalars()
    }


@cache
def _mine_query(dialect: str) -> Select[Any]:
    return select(EVENT.c.message_id).where(one_of(EVENT.c.id, "ids", dialect))


def _json(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits
        return json.dumps(value)


def _event_row(workspace_id: str, message: SegmentMessage, contact_id: str) -> dict[str, Any]:
    return {
        "id": new_id("ev"),
        "workspace_id": workspace_id,
        "message_id": message.message_id,
        "type": message.type.value,
        "name": message.name,
        "contact_id": contact_id,
        "user_id": message.user_id,
        "anonymous_id": message.anonymous_id,
        "properties": message.properties,
        "context": message.context,
        "timestamp": message.timestamp,
        "received_at": message.received_at,
    }


def _stored(row: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        row["id"], row["message_id"], row["type"], row["name"], row["contact_id"], row["properties"], row["timestamp"]
    )


def _dispatched(event: StoredEvent) -> bool:
    """Track events go to journeys, by name. Page and screen names are stored but not dispatched: "Pricing" the
    page and "Pricing" the event would otherwise start the same journeys."""
    return event.type == MessageType.TRACK.value and bool(event.contact_id) and bool(event.name)


def _for_journeys(workspace_id: str, event: StoredEvent) -> OutboxEvent:
    return OutboxEvent(
        workspace_id, event.contact_id or "", event.id, event.name or "", event.properties, event.timestamp
    )


def _contact_changes(
    workspace_id: str, changed: dict[str, StoredEvent], created: set[str], now: datetime
) -> list[OutboxEvent]:
    """One row per contact created or changed by the messages, named after the last message that changed it."""
    return [
        OutboxEvent(
            workspace_id,
            contact_id,
            event.id,
            "created" if contact_id in created else "updated",
            {},
            now,
            OutboxKind.CONTACT,
        )
        for contact_id, event in changed.items()
    ]


def record_messages(
    session: Session, workspace_id: str, messages: list[SegmentMessage], interest: Interest = EVERYTHING
) -> Recorded:
    """Store messages of one workspace and their effects on contacts, in order; the caller commits.

    A new track event is written to the dispatch outbox in the same transaction when `interest` names it (the
    events journeys, segments, scoring and outbound webhooks care about), and so is a row per contact created or
    changed (traits, time zone, a group's company) when `interest.contacts`, and a row per company a group message
    changed (store/company_groups.py).
    A message id repeated among them counts once. A message whose id is already stored is not stored again (nor
    queued again: it was queued with its first storing), but its stored row is returned like a new one. An
    identify or group already stored changes nothing (a late retry must not undo a newer one); for the other types
    the effects of resolving
    their contact again are the same as the first time's, so only identify and group messages are looked up before
    writing and the others are caught by the insert's conflict clause.
    """
    if not messages:
        return Recorded(events={}, inserted=0, duplicates=0)
    data_plane(session)  # contacts changed by ingestion are not audited row by row (store/audit_hook.py)
    unique: dict[str, SegmentMessage] = {}
    for message in messages:
        unique.setdefault(message.message_id, message)
    identify_ids = [mid for mid, m in unique.items() if m.type in _LOOKED_UP]
    existing = events_by_message_id(session, workspace_id, identify_ids) if identify_ids else {}
    prepared = prepare(session, workspace_id, [m for m in unique.values() if m.message_id not in existing])
    refused = {m.message_id: why for m, why in prepared.refused}
    now = max(m.received_at for m in messages)
    auto_merge = prepared.auto_merge
    resolution = resolve_contacts(
        session, workspace_id, prepared.messages, now, prepared.lookup, auto_merge is not False
    )
    contacts = contacts_to_update(session, resolution, prepared.messages, now)
    fresh: list[SegmentMessage] = []
    contact_of: list[str] = []
    for n, (message, cid) in enumerate(zip(prepared.messages, resolution.contact_of, strict=True)):
        if isinstance(cid, Refusal):
            refused[message.message_id] = cid
            continue
        fresh.append(message)
        contact_of.append(cid)
        contact = contacts.get(cid)
        if contact is None:
            continue
        if message.traits is not None:
            apply_traits(contact, message.traits)
            if prepared.lookup is not None and prepared.lookup.keyed_of[n]:
                stamp_keys(contact, prepared.unique, prepared.lookup.keyed_of[n])
        if message.timezone and contact.timezone is None:
            contact.timezone = message.timezone
            contact.updated_at = message.received_at
    groups = [(m, contacts.get(cid)) for m, cid in zip(fresh, contact_of, strict=True) if m.company]
    companies = apply_groups(session, workspace_id, groups, now) if groups else set()
    session.flush()
    rows = [_event_row(workspace_id, m, cid) for m, cid in zip(fresh, contact_of, strict=True)]
    inserted = insert_events(session, rows)
    already = [row["message_id"] for row in rows if row["message_id"] not in inserted]
    if already:
        existing.update(events_by_message_id(session, workspace_id, already))
    stored = {row["message_id"]: _stored(row) for row in rows if row["message_id"] in inserted}
    queued = [_for_journeys(workspace_id, e) for e in stored.values() if _dispatched(e) and interest.wants(e.name)]
    if interest.contacts:
        created = set(resolution.planner.plan.new_contacts)
        changed = {e.contact_id: e for e in stored.values() if e.contact_id and (e.contact_id in created or
                   (e.contact_id in contacts and e.type in _CHANGING))}  # fmt: skip
        queued += _contact_changes(workspace_id, changed, created, now)
        queued += [
            OutboxEvent(workspace_id, k, new_id("cc"), k, {}, now, OutboxKind.COMPANY) for k in sorted(companies)
        ]
    queued += write_merges(session, workspace_id, resolution.planner.plan.merges, now, auto_merge=auto_merge)
    enqueue_sync(session, queued, now)
    stored.update(existing)
    duplicates = len(unique) - len(inserted) - len(refused)
    return Recorded(events=stored, inserted=len(inserted), duplicates=duplicates, refused=refused)
