"""The unique-identifier keys of contacts (`email_key`, `phone_key`; domain/identity/identifiers.py).

Writers stamp the keys with the row they write (`stamp_keys`), so the unique index decides between two
concurrent writers. This module also (re)computes them for a whole workspace: when migration 0028 adds them, and
when the merge policy makes an identifier unique (`backfill`) or no longer unique (`clear`). Keys are computed in
Python, never with SQL `lower()` (SQLite's lowers ASCII only), so every path agrees on them.

Plain SQL on a synchronous connection: the migration runs it as is, the API through `run_sync`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from domain.identity.identifiers import KEYED, key_of, keys_for
from domain.identity.policy import DEFAULT_MERGE_POLICY

DEFAULT_UNIQUE = tuple(DEFAULT_MERGE_POLICY.unique)
_BATCH = 1000


@dataclass
class DuplicateGroup:
    identifier: str
    key: str
    contact_ids: list[str] = field(default_factory=list)  # newest first: the first is the one that keeps the key


def stamp_keys(contact: Any, unique: Collection[str], only: Collection[str] = KEYED) -> None:
    """Set a contact row's keys from its email, phone and merge state (an ORM `Contact`): those of `only`, the
    identifiers being written (an older duplicate left without a key keeps none while its name is updated)."""
    email, phone = keys_for(unique, contact.email, contact.phone, contact.merged_into)
    if "email" in only:
        contact.email_key = email
    if "phone" in only:
        contact.phone_key = phone


def _connection(bind: Connection | Session) -> Connection:
    return bind.connection() if isinstance(bind, Session) else bind


def _groups(connection: Connection, workspace_id: str, identifier: str) -> dict[str, list[tuple[Any, str]]]:
    """Key -> [(updated_at, id)] of the workspace's unmerged contacts with a value for the identifier."""
    column = identifier  # "email" | "phone": never user input (KEYED)
    rows = connection.execute(
        text(f"SELECT id, {column}, updated_at FROM contact "
             f"WHERE workspace_id = :ws AND {column} IS NOT NULL AND merged_into IS NULL"),
        {"ws": workspace_id},
    )  # fmt: skip
    groups: dict[str, list[tuple[Any, str]]] = {}
    for contact_id, value, updated_at in rows:
        key = key_of(identifier, value)
        if key is not None:
            groups.setdefault(key, []).append((updated_at, contact_id))
    for members in groups.values():
        members.sort(reverse=True)
    return groups


def duplicates(bind: Connection | Session, workspace_id: str, identifier: str, limit: int) -> list[DuplicateGroup]:
    """Groups of unmerged contacts sharing one value of the identifier (at most `limit` groups, by key)."""
    groups = _groups(_connection(bind), workspace_id, identifier)
    shared = sorted(key for key, members in groups.items() if len(members) > 1)[:limit]
    return [DuplicateGroup(identifier, key, [cid for _, cid in groups[key]]) for key in shared]


def backfill(bind: Connection | Session, workspace_id: str, identifier: str) -> int:
    """Give every unmerged contact its key; where several share one, the newest keeps it and the others none.
    Returns how many contacts were left without a key (duplicates)."""
    connection = _connection(bind)
    column = f"{identifier}_key"
    connection.execute(text(f"UPDATE contact SET {column} = NULL WHERE workspace_id = :ws"), {"ws": workspace_id})
    groups = _groups(connection, workspace_id, identifier)
    updates = [{"k": key, "id": members[0][1]} for key, members in groups.items()]
    statement = text(f"UPDATE contact SET {column} = :k WHERE id = :id")
    for start in range(0, len(updates), _BATCH):
        connection.execute(statement, updates[start : start + _BATCH])
    return sum(len(members) - 1 for members in groups.values())


def clear(bind: Connection | Session, workspace_id: str, identifier: str) -> None:
    _connection(bind).execute(
        text(f"UPDATE contact SET {identifier}_key = NULL WHERE workspace_id = :ws"), {"ws": workspace_id}
    )


def policy_unique(raw: Any) -> list[str]:
    """The unique identifiers of a stored policy (its JSON), the default when none is stored."""
    if raw is None:
        return list(DEFAULT_UNIQUE)
    policy = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    return list(policy.get("unique", DEFAULT_UNIQUE))


def backfill_all(connection: Connection) -> None:
    """Migration 0028: every workspace's keys, by its stored policy (or the default)."""
    rows = connection.execute(
        text("SELECT w.id, p.policy FROM workspace w LEFT JOIN merge_policy p ON p.workspace_id = w.id")
    ).all()
    for workspace_id, raw in rows:
        unique = policy_unique(raw)
        for identifier in KEYED:
            if identifier in unique:
                backfill(connection, workspace_id, identifier)
