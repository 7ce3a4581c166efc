"""The audit-log context: filtered pages, JSON-lines exports and the chain's verification for one workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Unprocessable
from api.pagination import encode_cursor, row_number
from api.schemas.audit import AuditEntryPublic, AuditProblem, AuditVerification
from store.audit import verify_workspace
from store.audit_query import AuditFilter, list_audit, stream_audit


def check(where: AuditFilter) -> AuditFilter:
    if where.since is not None and where.until is not None and where.until <= where.since:
        raise Unprocessable("`until` must be later than `since`", code="invalid_time_range")
    return where


async def page(
    session: AsyncSession, workspace_id: str, where: AuditFilter, cursor: str | None, limit: int
) -> tuple[list[AuditEntryPublic], str | None]:
    rows = await list_audit(session, workspace_id, check(where), after=row_number(cursor), limit=limit + 1)
    entries = [AuditEntryPublic.of(row) for row in rows[:limit]]
    return entries, (encode_cursor(str(entries[-1].seq)) if len(rows) > limit else None)


async def export_lines(session: AsyncSession, workspace_id: str, where: AuditFilter) -> AsyncIterator[bytes]:
    """One JSON document per line, in chain order."""
    async for row in stream_audit(session, workspace_id, check(where)):
        yield AuditEntryPublic.of(row).model_dump_json().encode() + b"\n"


async def verification(session: AsyncSession, workspace_id: str) -> AuditVerification:
    report = await verify_workspace(session, workspace_id)
    return AuditVerification(
        ok=report.ok,
        entries=report.entries,
        head_seq=report.head_seq,
        problems=[AuditProblem.of(problem) for problem in report.problems],
    )
