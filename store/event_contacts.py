"""Resolving the contacts of a request's messages in bulk, safely under concurrency.

`domain.events.resolution.ContactPlanner` decides from one read of the identities; this module writes its plan
with `INSERT .. ON CONFLICT DO NOTHING` (contacts on their external id, identities on (kind, value)). When a
concurrent request created one of the same ids first, its row wins: our leftovers are removed and the plan is
made again from a fresh read, in the same transaction, until it applies cleanly. Rows are inserted in key
order so two PostgreSQL transactions wait on each other's keys in the same order (no deadlock).

Synchronous on purpose: ingestion runs a request's whole unit of work in one call (see api/ingest_service.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Select, String, Table, any_, bindparam, delete, select
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from domain.events.resolution import ANONYMOUS, USER, ContactPlan, ContactPlanner, KeyedIndex, KnownContact, Refusal
from domain.events.segment import MessageType, SegmentMessage
from domain.identity.identifiers import key_of
from store.models import Contact, ContactIdentity
from store.queries import insert_ignoring

IDENTITY: Table = SQLModel.metadata.tables[ContactIdentity.__tablename__]
CONTACT: Table = SQLModel.metadata.tables[Contact.__tablename__]
CHUNK = 500  # values per IN list: far below every driver's parameter limit
_ROUNDS = 5


class ContactRace(Exception):
    """Concurrent requests kept creating the same ids; the caller retries the whole transaction."""


@dataclass
class Resolution:
    contact_of: list[str | Refusal]  # per message
    planner: ContactPlanner


@dataclass
class KeyedLookup:
    """What the workspace policy asks of a request's email and phone traits (store/events.py builds it)."""

    unique: frozenset[str]
    groups: list[list[str]]
    keyed_of: list[dict[str, str]]  # per message: identifier -> key
    raw: dict[str, set[str]]  # identifier -> values as written (the column a non-unique identifier matches on)


def chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def one_of(column: Any, name: str, dialect: str) -> ColumnElement[bool]:
    """`column IN (:name...)`. On PostgreSQL one array parameter (`= ANY(:name)`): with a list of separate
    parameters, the generic plan of a prepared statement may prefer a worse index while statistics are young."""
    if dialect == "postgresql":
        condition: ColumnElement[bool] = column == any_(bindparam(name, type_=ARRAY(String)))
        return condition
    return column.in_(bindparam(name, expanding=True))  # type: ignore[no-any-return]


@cache
def _identities_query(dialect: str) -> Select[Any]:
    i, ct = IDENTITY.c, CONTACT.c
    return (
        select(i.value, i.contact_id, ct.external_id, ct.timezone)
        .join(CONTACT, ct.id == i.contact_id)
        .where(i.workspace_id == bindparam("ws"), i.kind == bindparam("kind"), one_of(i.value, "values", dialect))
    )


@cache
def _external_ids_query(dialect: str) -> Select[Any]:
    ct = CONTACT.c
    return select(ct.id, ct.external_id, ct.timezone).where(
        ct.workspace_id == bindparam("ws"), one_of(ct.external_id, "values", dialect)
    )


def resolve_contacts(
    session: Session,
    workspace_id: str,
    messages: list[SegmentMessage],
    now: datetime,
    lookup: KeyedLookup | None = None,
    auto_merge: bool = True,
) -> Resolution:
    """The contact of each message, creating contacts and identities as the planner decides; with `lookup`, a
    message whose email or phone the policy matches or refuses (a `Refusal` in place of its contact). The merges
    planned (`auto_merge`) are the caller's to write (store/ingest_merges.py)."""
    users = _unique([m.user_id for m in messages] + [m.previous_id for m in messages])
    anonymous = _unique([m.anonymous_id for m in messages] + [m.previous_id for m in messages])
    no_keys: dict[str, str] = {}
    for _ in range(_ROUNDS):
        planner = known_contacts(session, workspace_id, users, anonymous, lookup, auto_merge)
        contact_of = [
            planner.alias(m.previous_id, m.user_id)
            if m.type is MessageType.ALIAS and m.previous_id and m.user_id
            else planner.resolve_keyed(m.user_id, m.anonymous_id, lookup.keyed_of[n] if lookup else no_keys)
            for n, m in enumerate(messages)
        ]
        if _apply(session, workspace_id, planner.plan, now):
            return Resolution(contact_of, planner)
    raise ContactRace(f"contact resolution kept conflicting after {_ROUNDS} rounds")


def known_contacts(
    session: Session,
    workspace_id: str,
    user_ids: Sequence[str],
    anonymous_ids: Sequence[str],
    lookup: KeyedLookup | None = None,
    auto_merge: bool = True,
) -> ContactPlanner:
    """A planner primed with every stored identity among the ids, contacts known by external id only, and (with
    `lookup`) the contacts holding the request's emails and phones."""
    dialect = dialect_of(session)
    contacts: dict[str, KnownContact] = {}
    names: dict[str, dict[str, str]] = {USER: {}, ANONYMOUS: {}}
    for kind, values in ((USER, user_ids), (ANONYMOUS, anonymous_ids)):
        for chunk in chunks(values):
            params = {"ws": workspace_id, "kind": kind, "values": list(chunk)}
            for row in session.execute(_identities_query(dialect), params):
                names[kind][row.value] = row.contact_id
                contacts[row.contact_id] = KnownContact(row.contact_id, row.external_id, row.timezone)
    unlinked = [u for u in user_ids if u not in names[USER]]
    for chunk in chunks(unlinked):
        for row in session.execute(_external_ids_query(dialect), {"ws": workspace_id, "values": list(chunk)}):
            contacts[row.id] = KnownContact(row.id, row.external_id, row.timezone)
    keyed = None
    if lookup is not None:
        keyed = KeyedIndex(lookup.unique, lookup.groups, _holders(session, workspace_id, lookup, contacts))
    return ContactPlanner(list(contacts.values()), names[USER], names[ANONYMOUS], keyed, auto_merge)


def _holders(
    session: Session, workspace_id: str, lookup: KeyedLookup, contacts: dict[str, KnownContact]
) -> dict[str, dict[str, set[str]]]:
    """identifier -> key -> unmerged contacts holding it: by the unique key column where the policy keeps one,
    else by the value as written. One query per identifier the request carries."""
    dialect = dialect_of(session)
    holders: dict[str, dict[str, set[str]]] = {}
    ct = CONTACT.c
    for name in ("email", "phone"):
        unique = name in lookup.unique
        values = sorted({k[name] for k in lookup.keyed_of if name in k} if unique else lookup.raw.get(name, set()))
        column = ct.email_key if name == "email" else ct.phone_key
        if not unique:
            column = ct.email if name == "email" else ct.phone
        for chunk in chunks(values):
            query = select(ct.id, ct.external_id, ct.timezone, column.label("value")).where(
                ct.workspace_id == workspace_id, one_of(column, "values", dialect), ct.merged_into.is_(None)
            )
            for row in session.execute(query, {"values": list(chunk)}):
                key = key_of(name, row.value)
                if key is not None:
                    holders.setdefault(name, {}).setdefault(key, set()).add(row.id)
                    contacts.setdefault(row.id, KnownContact(row.id, row.external_id, row.timezone))
    return holders


def _apply(session: Session, workspace_id: str, plan: ContactPlan, now: datetime) -> bool:
    """Write the plan's new contacts and identities; False when a concurrent request got some ids first."""
    if not plan.new_contacts and not plan.new_identities:
        return True
    dialect = dialect_of(session)
    created: set[str] = set()
    if plan.new_contacts:
        base: dict[str, Any] = {"workspace_id": workspace_id, "attributes": {}, "created_at": now, "updated_at": now}
        contacts = [
            {**base, "id": cid, "external_id": ext}
            for cid, ext in sorted(plan.new_contacts.items(), key=lambda item: (item[1] or "", item[0]))
        ]
        statement = insert_ignoring(dialect, CONTACT, "workspace_id", "external_id").returning(CONTACT.c.id)
        created = set(session.execute(statement, contacts).scalars())
    usable = [n for n in plan.new_identities if n.contact_id not in plan.new_contacts or n.contact_id in created]
    linked: set[tuple[str, str]] = set()
    if usable:
        identities = [
            {
                "workspace_id": workspace_id,
                "kind": n.kind,
                "value": n.value,
                "contact_id": n.contact_id,
                "created_at": now,
            }
            for n in sorted(usable, key=lambda n: (n.kind, n.value))
        ]
        statement = insert_ignoring(dialect, IDENTITY, "workspace_id", "kind", "value")
        result = session.execute(statement.returning(IDENTITY.c.kind, IDENTITY.c.value), identities)
        linked = {(row.kind, row.value) for row in result}
    if len(created) == len(plan.new_contacts) and len(linked) == len(plan.new_identities):
        return True
    kept = {n.contact_id for n in usable if (n.kind, n.value) in linked}
    for chunk in chunks(sorted(created - kept)):
        session.execute(delete(CONTACT).where(CONTACT.c.id.in_(chunk)))
    return False


def contacts_to_update(
    session: Session, resolution: Resolution, messages: list[SegmentMessage], now: datetime
) -> dict[str, Contact]:
    """ORM objects for the contacts this request changes: identify traits, a group's company, a first timezone, an
    external id."""
    planner = resolution.planner
    wanted = {
        cid
        for m, cid in zip(messages, resolution.contact_of, strict=True)
        if isinstance(cid, str)
        and (m.traits is not None or m.company is not None or (m.timezone and not planner.has_timezone(cid)))
    }
    wanted |= planner.plan.gained_external_ids.keys()
    objects: dict[str, Contact] = {}
    for chunk in chunks(sorted(wanted)):
        result = session.execute(select(Contact).where(Contact.id.in_(chunk)))  # type: ignore[attr-defined]
        objects.update((contact.id, contact) for contact in result.scalars())
    for cid, external_id in planner.plan.gained_external_ids.items():
        if cid in objects and objects[cid].external_id is None:
            objects[cid].external_id = external_id
            objects[cid].updated_at = now
    return objects


def _unique(values: Iterable[str | None]) -> list[str]:
    return sorted({v for v in values if v})
