"""The message log: one row per message a journey asked to send, keyed by its idempotency key.

Statuses: `pending` (claimed, nothing handed to a provider yet: a retry sends), `sending` (a provider call is in
flight), `sent`, `skipped`, `failed`, `uncertain` (a provider may have the message; never sent again on its own).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Update, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.clock import utcnow
from store.models import JourneyEnrollment, MessageLog, MessageResolution
from store.queries import insert_or_get

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
UNCERTAIN = "uncertain"


async def find_by_idempotency_key(session: AsyncSession, key: str) -> MessageLog | None:
    result = await session.execute(select(MessageLog).where(col(MessageLog.idempotency_key) == key))
    return result.scalar_one_or_none()


async def claim(session: AsyncSession, draft: MessageLog) -> MessageLog:
    """Insert the log row, or return the existing one with the same idempotency key."""
    return await insert_or_get(
        session, draft, lambda: find_by_idempotency_key(session, draft.idempotency_key), key=("idempotency_key",)
    )


def marking_sending(log_id: str, provider_id: str) -> Update:
    """The row's provider call starts now (the caller executes and commits): one UPDATE by primary key, which
    also records which provider has it, so a later webhook or an operator can tell where an uncertain message
    went."""
    return update(MessageLog).where(col(MessageLog.id) == log_id).values(status=SENDING, provider=provider_id)


async def list_messages(
    session: AsyncSession, workspace_id: str, *, status: str | None, after: str | None, limit: int
) -> list[MessageLog]:
    """A workspace's messages in id (time) order after the cursor, optionally of one status."""
    query = select(MessageLog).where(col(MessageLog.workspace_id) == workspace_id)
    if status is not None:
        query = query.where(col(MessageLog.status) == status)
    if after:
        query = query.where(col(MessageLog.id) > after)
    result = await session.execute(query.order_by(col(MessageLog.id)).limit(limit))
    return list(result.scalars())


async def get_message(session: AsyncSession, workspace_id: str, message_id: str) -> MessageLog | None:
    row = await session.get(MessageLog, message_id, populate_existing=True)
    return row if row is not None and row.workspace_id == workspace_id else None


async def leave_uncertain(session: AsyncSession, message_id: str, *, resend: bool) -> bool:
    """Move an `uncertain` row to `pending` (to be resent) or `sent`; False when it was not uncertain (another
    request resolved it first). The caller commits."""
    values: dict[str, object] = {"status": PENDING} if resend else {"status": SENT, "sent_at": utcnow()}
    result = await session.execute(
        update(MessageLog)
        .where(col(MessageLog.id) == message_id, col(MessageLog.status) == UNCERTAIN)
        .values(**values)
        .returning(col(MessageLog.id))
    )
    return result.first() is not None


async def last_resolution(session: AsyncSession, message_id: str) -> MessageResolution | None:
    result = await session.execute(
        select(MessageResolution)
        .where(col(MessageResolution.message_log_id) == message_id)
        .order_by(col(MessageResolution.created_at).desc(), col(MessageResolution.id).desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def enrollment_version(session: AsyncSession, workspace_id: str, journey_id: str, contact_id: str) -> int | None:
    """The journey version the contact entered on (the one whose step sent the message)."""
    result = await session.execute(
        select(col(JourneyEnrollment.version)).where(
            col(JourneyEnrollment.workspace_id) == workspace_id,
            col(JourneyEnrollment.journey_id) == journey_id,
            col(JourneyEnrollment.contact_id) == contact_id,
        )
    )
    version = result.scalar_one_or_none()
    return int(version) if version is not None else None


async def status_counts(session: AsyncSession) -> dict[str, int]:
    """Message-log rows by status, every workspace: one grouped query (the /metrics gauge)."""
    result = await session.execute(select(col(MessageLog.status), func.count()).group_by(col(MessageLog.status)))
    return {str(status): int(count) for status, count in result.all()}


async def resolve_reported(session: AsyncSession, message_ids: Collection[str]) -> int:
    """Uncertain messages a provider has since reported on (delivered, bounced, opened) did reach it: `sent`.
    One UPDATE, only for rows still uncertain; the caller commits. Returns how many were resolved."""
    if not message_ids:
        return 0
    result = await session.execute(
        update(MessageLog)
        .where(col(MessageLog.id).in_(list(message_ids)), col(MessageLog.status) == UNCERTAIN)
        .values(status=SENT, sent_at=utcnow(), error=None)
        .returning(col(MessageLog.id))
    )
    return len(result.all())


async def retry_failed(session: AsyncSession, idempotency_key: str) -> bool:
    """Set a `failed` message back to `pending` so its send runs again under the same key (a dead letter's replay
    after the cause was fixed); False when it is not failed (sent meanwhile, never claimed ...). The caller
    commits."""
    result = await session.execute(
        update(MessageLog)
        .where(col(MessageLog.idempotency_key) == idempotency_key, col(MessageLog.status) == "failed")
        .values(status=PENDING, error=None)
        .returning(col(MessageLog.id))
    )
    return result.first() is not None
