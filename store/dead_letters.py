"""The dead-letter store: recording failures (idempotent on kind + subject), listing, and resolving them.

Every producer records in its own transaction and the caller commits: the dispatcher parks an outbox row and
records its dead letter in one transaction, an activity records and commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from domain.dead_letters.model import DeadLetterIn, DeadLetterKind, DeadLetterStatus
from domain.json_limits import printable
from store.audit import record_audit
from store.models import DeadLetter
from store.queries import insert_if_absent

__all__ = [
    "DeadLetterFilter",
    "DeadLetterIn",
    "get_dead_letter",
    "list_dead_letters",
    "record_dead_letter",
    "resolve",
]

TABLE: Table = SQLModel.metadata.tables[DeadLetter.__tablename__]
MAX_ERROR_CHARS = 4000
_STATUS = col(DeadLetter.status)


def _values(item: DeadLetterIn) -> dict[str, Any]:
    return {
        "workspace_id": item.workspace_id,
        "kind": DeadLetterKind(item.kind).value,
        "subject_id": item.subject_id[:250],
        "workflow_id": item.workflow_id,
        "run_id": item.run_id,
        "activity_id": item.activity_id,
        "journey_id": item.journey_id,
        "contact_id": item.contact_id,
        "input": dict(item.input),
        "error_type": printable(item.error_type)[:64],
        "error": printable(item.error)[:MAX_ERROR_CHARS],  # it may quote a provider's reply
        "attempts": item.attempts,
        "first_failed_at": item.first_failed_at or item.failed_at,
        "last_failed_at": item.failed_at,
        "status": DeadLetterStatus.OPEN.value,
    }


async def record_dead_letter(session: AsyncSession, item: DeadLetterIn) -> bool:
    """Record a failure; True when the store changed. The same (kind, subject) open already (a retried activity,
    a batch settled twice): nothing changes, False. Replayed or discarded earlier and failing again: it is open
    again with the new error and attempts added (domain `failed_again`), True. The caller commits."""
    values = _values(item)
    if await insert_if_absent(session, TABLE, values, key=("kind", "subject_id")):
        return True
    c = TABLE.c
    reopened = await session.execute(
        update(TABLE)
        .where(c.kind == values["kind"], c.subject_id == values["subject_id"], c.status != DeadLetterStatus.OPEN)
        .values(
            status=DeadLetterStatus.OPEN.value,
            error_type=values["error_type"],
            error=values["error"],
            attempts=c.attempts + item.attempts,
            last_failed_at=item.failed_at,
            workflow_id=item.workflow_id or c.workflow_id,
            run_id=item.run_id or c.run_id,
            resolved_at=None,
            resolved_by=None,
        )
        .returning(c.id)
    )
    return reopened.first() is not None


@dataclass(frozen=True, slots=True)
class DeadLetterFilter:
    """Which dead letters: every field narrows (None: any)."""

    workspace_id: str | None = None
    kind: DeadLetterKind | None = None
    status: DeadLetterStatus | None = None
    error: str | None = None  # a substring of the error type or message
    since: datetime | None = None  # last failure at or after
    until: datetime | None = None  # last failure before
    journey_id: str | None = None
    subject_id: str | None = None
    ids: Sequence[int] | None = None


def _where(query: Any, flt: DeadLetterFilter) -> Any:
    if flt.workspace_id is not None:
        query = query.where(col(DeadLetter.workspace_id) == flt.workspace_id)
    if flt.kind is not None:
        query = query.where(col(DeadLetter.kind) == flt.kind.value)
    if flt.status is not None:
        query = query.where(_STATUS == flt.status.value)
    if flt.error:
        pattern = "%" + flt.error.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            col(DeadLetter.error).ilike(pattern, escape="\\") | col(DeadLetter.error_type).ilike(pattern, escape="\\")
        )
    if flt.since is not None:
        query = query.where(col(DeadLetter.last_failed_at) >= flt.since)
    if flt.until is not None:
        query = query.where(col(DeadLetter.last_failed_at) < flt.until)
    if flt.journey_id is not None:
        query = query.where(col(DeadLetter.journey_id) == flt.journey_id)
    if flt.subject_id is not None:
        query = query.where(col(DeadLetter.subject_id) == flt.subject_id)
    if flt.ids is not None:
        query = query.where(col(DeadLetter.id).in_(list(flt.ids)))
    return query


async def list_dead_letters(
    session: AsyncSession, flt: DeadLetterFilter, *, before: int | None = None, limit: int = 50
) -> list[DeadLetter]:
    """Newest first (id order), after the keyset cursor `before`."""
    query = _where(select(DeadLetter), flt)
    if before is not None:
        query = query.where(col(DeadLetter.id) < before)
    result = await session.execute(query.order_by(col(DeadLetter.id).desc()).limit(limit))
    return list(result.scalars())


async def get_dead_letter(session: AsyncSession, dead_letter_id: int, workspace_id: str | None) -> DeadLetter | None:
    row = await session.get(DeadLetter, dead_letter_id)
    if row is None or (workspace_id is not None and row.workspace_id != workspace_id):
        return None
    return row


async def resolve(
    session: AsyncSession,
    dead_letter_id: int,
    *,
    status: DeadLetterStatus,
    actor: str,
    at: datetime,
    resolution: str | None = None,
) -> bool:
    """Move an open dead letter to `status` (checked against the domain's transitions by the caller); False when
    it was no longer open (another operator resolved it meanwhile). The caller commits; the audit entry
    (`dead_letter.replayed` / `dead_letter.discarded`) commits with it — the one place both the API and the CLI
    resolve through, and a conditional UPDATE, so it is recorded here rather than by the row hook."""
    result = await session.execute(
        update(TABLE)
        .where(TABLE.c.id == dead_letter_id, TABLE.c.status == DeadLetterStatus.OPEN.value)
        .values(status=status.value, resolved_at=at, resolved_by=actor[:200], resolution=resolution)
        .returning(TABLE.c.id, TABLE.c.workspace_id, TABLE.c.kind, TABLE.c.subject_id)
    )
    row = result.first()
    if row is None:
        return False
    await record_audit(
        session, workspace_id=row.workspace_id, action=f"dead_letter.{status.value}", target_type="dead_letter",
        target_id=str(dead_letter_id), before={"status": DeadLetterStatus.OPEN.value},
        after={"status": status.value, "kind": row.kind, "subject_id": row.subject_id, "resolution": resolution},
    )  # fmt: skip
    return True
