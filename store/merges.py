"""Moving a merged contact's rows to the survivor and back (one transaction each, run by activities/identity).

Every CONTACT_OWNED table's rows of the merged contact move to the survivor, except those whose twin (same
`unique_with` columns) the survivor already has (per-contact counters, scores, memberships, enrollments): those
stay on the merged contact and are recorded as skipped. The moved keys are recorded per table, so an unmerge moves
exactly those rows back, whatever the survivor gained since.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.identity.merge import COLUMN_IDENTIFIERS
from domain.journeys.runtime import journey_workflow_id
from store.contact_owned import CONTACT_OWNED, CONTACT_OWNED_BY_TABLE, ContactOwned
from store.models import Contact, JourneyEnrollment
from store.models_identity import ContactMerge

ACTIVE = ("running", "undoing")  # a merge or unmerge the workflow has yet to apply


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


async def contact_identifiers(session: AsyncSession, contact: Contact) -> dict[str, set[str]]:
    """Every identifier value of the contact, by identifier name (domain/identity/merge.py)."""
    values = await identifier_values(session, contact.workspace_id, contact.id)
    values.pop("user", None)  # the user id is the external_id column
    for name in COLUMN_IDENTIFIERS:
        if value := getattr(contact, name):
            values[name] = {value}
    return values


async def readdress_enrollments(session: AsyncSession, enrollment_ids: list[Any], contact_id: str) -> None:
    """Enrollments that changed contact name that contact's journey workflow (journey:{ws}:{journey}:{contact}),
    so the dispatcher signals the execution that runs for it now."""
    ids = [int(key[0] if isinstance(key, list) else key) for key in enrollment_ids]
    if not ids:
        return
    rows = await session.execute(select(JourneyEnrollment).where(col(JourneyEnrollment.id).in_(ids)))
    for enrollment in rows.scalars():
        wanted = journey_workflow_id(enrollment.workspace_id, enrollment.journey_id, contact_id)
        if enrollment.contact_id == contact_id and enrollment.workflow_id != wanted:
            await session.execute(
                update(JourneyEnrollment).where(col(JourneyEnrollment.id) == enrollment.id).values(workflow_id=wanted)
            )


async def active_merge(session: AsyncSession, workspace_id: str, *contact_ids: str) -> ContactMerge | None:
    """A merge or unmerge not yet applied that involves one of the contacts."""
    query = select(ContactMerge).where(
        col(ContactMerge.workspace_id) == workspace_id,
        col(ContactMerge.status).in_(ACTIVE),
        or_(col(ContactMerge.survivor_id).in_(contact_ids), col(ContactMerge.merged_id).in_(contact_ids)),
    )
    return (await session.execute(query.order_by(col(ContactMerge.id)).limit(1))).scalar_one_or_none()


async def merges_of_contact(
    session: AsyncSession, workspace_id: str, contact_id: str, *, after: str | None, limit: int
) -> list[ContactMerge]:
    """The merges the contact took part in (as survivor or merged), oldest first, keyset-paginated on the id."""
    query = select(ContactMerge).where(
        col(ContactMerge.workspace_id) == workspace_id,
        or_(col(ContactMerge.survivor_id) == contact_id, col(ContactMerge.merged_id) == contact_id),
    )
    if after:
        query = query.where(col(ContactMerge.id) > after)
    return list((await session.execute(query.order_by(col(ContactMerge.id)).limit(limit))).scalars())


__all__ = [
    "active_merge",
    "contact_identifiers",
    "identifier_values",
    "merges_of_contact",
    "move_back",
    "move_rows",
    "readdress_enrollments",
]
