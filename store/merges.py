"""Moving a merged contact's rows to the survivor and back (one transaction each, run by activities/identity).

Every CONTACT_OWNED table's rows of the merged contact move to the survivor, except those whose twin (same
`unique_with` columns) the survivor already has (per-contact counters, scores, memberships, enrollments): those
stay on the merged contact and are recorded as skipped. The moved keys are recorded per table, so an unmerge moves
exactly those rows back, whatever the survivor gained since.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from store.contact_owned import CONTACT_OWNED, CONTACT_OWNED_BY_TABLE, ContactOwned


def _where_key(entry: ContactOwned) -> str:
    return " AND ".join(f"{column} = :k{i}" for i, column in enumerate(entry.key))


async def _keys(session: AsyncSession, entry: ContactOwned, contact_id: str) -> list[list[Any]]:
    columns = ", ".join((*entry.key, *entry.unique_with))
    sql = f"SELECT {columns} FROM {entry.table} WHERE {entry.contact_column} = :contact"
    return [list(row) for row in (await session.execute(text(sql), {"contact": contact_id})).all()]


async def move_rows(session: AsyncSession, merged_id: str, survivor_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Moves the merged contact's rows; returns (moved, skipped) keys per table."""
    moved: dict[str, Any] = {}
    skipped: dict[str, Any] = {}
    for entry in CONTACT_OWNED:
        rows = await _keys(session, entry, merged_id)
        if not rows:
            continue
        width = len(entry.key)
        taken: set[tuple[Any, ...]] = set()
        if entry.unique_with:
            taken = {tuple(r[width:]) for r in await _keys(session, entry, survivor_id)}
        update = text(
            f"UPDATE {entry.table} SET {entry.contact_column} = :survivor "
            f"WHERE {entry.contact_column} = :merged AND {_where_key(entry)}"
        )
        for row in rows:
            key = row[:width]
            if entry.unique_with and tuple(row[width:]) in taken:
                skipped.setdefault(entry.table, []).append(key)
                continue
            params = {"survivor": survivor_id, "merged": merged_id, **{f"k{i}": v for i, v in enumerate(key)}}
            await session.execute(update, params)
            moved.setdefault(entry.table, []).append(key)
    return moved, skipped


async def move_back(session: AsyncSession, moved: dict[str, Any], survivor_id: str, merged_id: str) -> int:
    """Moves exactly the recorded rows back to the merged contact; returns how many moved."""
    count = 0
    for table, keys in moved.items():
        entry = CONTACT_OWNED_BY_TABLE.get(table)
        if entry is None:
            continue
        update = text(
            f"UPDATE {entry.table} SET {entry.contact_column} = :merged "
            f"WHERE {entry.contact_column} = :survivor AND {_where_key(entry)}"
        )
        for key in keys:
            params = {"survivor": survivor_id, "merged": merged_id, **{f"k{i}": v for i, v in enumerate(key)}}
            result = await session.execute(update, params)
            count += int(getattr(result, "rowcount", 0) or 0)
    return count


async def identifier_values(session: AsyncSession, workspace_id: str, contact_id: str) -> dict[str, set[str]]:
    """The kinds and values of the contact's recorded identities (anonymous, ext:<source>, user)."""
    sql = text("SELECT kind, value FROM contact_identity WHERE workspace_id = :ws AND contact_id = :c")
    out: dict[str, set[str]] = {}
    for kind, value in (await session.execute(sql, {"ws": workspace_id, "c": contact_id})).all():
        out.setdefault("anonymous_id" if kind == "anonymous" else kind, set()).add(value)
    return out


__all__ = ["identifier_values", "move_back", "move_rows"]
