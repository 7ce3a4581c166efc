"""Rejected Segment messages: recorded once per distinct message, pruned by age and count, listed newest first."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.events.segment import RejectedMessage
from domain.json_limits import printable
from store.models import IngestRejection
from store.queries import insert_ignoring

MAX_RAW_CHARS = 32 * 1024
MAX_REASON_CHARS = 2000


def _as_text(raw: object) -> str:
    """JSON with every non-ASCII character escaped: what PostgreSQL text and a JSON reply can both carry, even for
    a NUL or a lone surrogate. Anything JSON cannot say (it came from a JSON body, so nothing should) is repr'd."""
    try:
        return json.dumps(raw, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return json.dumps(repr(raw)[:MAX_RAW_CHARS], ensure_ascii=True)


def _message_id(raw: object) -> str | None:
    value = raw.get("messageId") if isinstance(raw, dict) else None
    if not isinstance(value, str):
        return None
    return printable(value)[:255] or None


def row(workspace_id: str, endpoint: str, rejected: RejectedMessage, received_at: datetime) -> dict[str, object]:
    text = _as_text(rejected.raw)
    digest = hashlib.sha256(f"{endpoint}\n{rejected.index}\n{text}".encode()).hexdigest()
    return {
        "workspace_id": workspace_id,
        "endpoint": endpoint,
        "batch_index": rejected.index,
        "message_id": _message_id(rejected.raw),
        "code": rejected.code[:40],
        "reason": printable(rejected.reason)[:MAX_REASON_CHARS],
        "raw": text[:MAX_RAW_CHARS],
        "raw_truncated": len(text) > MAX_RAW_CHARS,
        "digest": digest,
        "received_at": received_at,
    }


async def record_rejections(
    session: AsyncSession,
    workspace_id: str,
    endpoint: str,
    rejected: list[RejectedMessage],
    received_at: datetime,
    *,
    keep: timedelta,
    cap: int,
) -> None:
    """Store the rejections (a retried request's are already there and are not stored again), then drop this
    workspace's rows older than `keep` and beyond the newest `cap`. The caller commits."""
    table = IngestRejection.__table__  # type: ignore[attr-defined]
    rows = [row(workspace_id, endpoint, item, received_at) for item in rejected]
    await session.execute(insert_ignoring(session.get_bind().dialect.name, table, "workspace_id", "digest"), rows)
    mine = col(IngestRejection.workspace_id) == workspace_id
    await session.execute(delete(IngestRejection).where(mine, col(IngestRejection.received_at) < received_at - keep))
    oldest_kept = (
        select(col(IngestRejection.id)).where(mine).order_by(col(IngestRejection.id).desc()).offset(cap - 1).limit(1)
    ).scalar_subquery()
    await session.execute(delete(IngestRejection).where(mine, col(IngestRejection.id) < oldest_kept))


async def list_rejections(
    session: AsyncSession, workspace_id: str, *, before: int | None, limit: int
) -> list[IngestRejection]:
    query = select(IngestRejection).where(col(IngestRejection.workspace_id) == workspace_id)
    if before is not None:
        query = query.where(col(IngestRejection.id) < before)
    result = await session.execute(query.order_by(col(IngestRejection.id).desc()).limit(limit))
    return list(result.scalars())
