"""Segments: saving filters (validated, cycle-free), building membership, previews, and on-demand refresh.

Creating or changing a segment builds its membership at once, set-based (one INSERT .. SELECT and one DELETE over
the workspace); the scheduled refresh and the dispatcher keep it current afterwards. A refresh on demand runs the
same work as a workflow (`segment-refresh:{workspace}:{segment}:{time}`), visible in the Temporal UI.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.common import WorkflowIDReusePolicy

from activities.segments.contracts import REFRESH_WORKFLOW, RefreshInput, refresh_workflow_id
from api.errors import NotFound, Unprocessable
from api.field_policies.current import refuse_hidden_fields
from domain.clock import utcnow
from domain.ids import new_id
from domain.segments.analysis import contact_fields, dependencies, find_cycle
from domain.segments.filters import (
    Filter,
    SegmentFilterError,
    parse_filter,
    to_json,
)
from mauntic.temporal import TemporalGateway
from store.models_segments import Segment
from store.segment_sql import EVERYONE, FilterCompiler
from store.segments import LoadedSegment, apply_diff, delete_segment, get_segment, segments_of

ENTRY_RATE_UNSET = -1.0


def parsed(raw: Any, path: str = "filter") -> Filter:
    """A filter from the request: 422 when malformed, 403 `field_hidden` when it names a field the key's role
    cannot see (its matches would reveal the values)."""
    try:
        node = parse_filter(raw, path)
    except SegmentFilterError as exc:
        raise Unprocessable(str(exc), code=exc.code, details={"path": exc.path}) from exc
    refuse_hidden_fields(contact_fields(node), "filter contacts by it")
    return node


async def owned(session: AsyncSession, workspace_id: str, segment_id: str) -> Segment:
    row = await get_segment(session, workspace_id, segment_id)
    if row is None:
        raise NotFound(f"no segment {segment_id}", code="segment_not_found")
    return row


async def _check_references(session: AsyncSession, workspace_id: str, segment_id: str, node: Filter) -> None:
    reads = {
        row.id: dependencies(parse_filter(row.filter)).segments for row in await segments_of(session, workspace_id)
    }
    wanted = dependencies(node).segments
    unknown = sorted(wanted - set(reads) - {segment_id})
    if unknown:
        raise Unprocessable(f"filter: no segment {unknown[0]} in this workspace", code="unknown_segment")
    reads[segment_id] = wanted
    cycle = find_cycle(segment_id, reads)
    if cycle:
        raise Unprocessable(f"filter: segments would read each other: {' -> '.join(cycle)}", code="segment_cycle")


class SegmentService:
    def __init__(self, entry_rate: float) -> None:
        self._entry_rate = entry_rate

    async def create(self, session: AsyncSession, workspace_id: str, name: str, raw: dict[str, Any]) -> Segment:
        node = parsed(raw)
        segment = Segment(id=new_id("sg"), workspace_id=workspace_id, name=name)
        await _check_references(session, workspace_id, segment.id, node)
        self._set_filter(segment, node)
        session.add(segment)
        await session.flush()
        await self._build(session, segment, node)
        await session.commit()
        await session.refresh(segment)
        return segment

    async def update(
        self, session: AsyncSession, workspace_id: str, segment_id: str, name: str | None, raw: dict[str, Any] | None
    ) -> Segment:
        segment = await owned(session, workspace_id, segment_id)
        if name is not None:
            segment.name = name
        node = None
        if raw is not None:
            node = parsed(raw)
            await _check_references(session, workspace_id, segment.id, node)
            self._set_filter(segment, node)
        segment.updated_at = utcnow()
        session.add(segment)
        await session.flush()
        if node is not None:
            await self._build(session, segment, node)
        await session.commit()
        await session.refresh(segment)
        return segment

    async def delete(self, session: AsyncSession, workspace_id: str, segment_id: str) -> None:
        await owned(session, workspace_id, segment_id)
        readers = [
            row.id
            for row in await segments_of(session, workspace_id)
            if segment_id in dependencies(parse_filter(row.filter)).segments
        ]
        if readers:
            raise Unprocessable(f"segment {readers[0]} reads this segment", code="segment_in_use")
        await delete_segment(session, segment_id)
        await session.commit()

    async def preview(self, session: AsyncSession, workspace_id: str, raw: dict[str, Any]) -> int:
        node = parsed(raw)
        dialect = session.get_bind().dialect.name
        matching = FilterCompiler(dialect, workspace_id, utcnow(), EVERYONE).members(node).subquery()
        return int((await session.execute(select(func.count()).select_from(matching))).scalar_one())

    async def refresh(self, temporal: TemporalGateway, workspace_id: str, segment_id: str) -> str:
        workflow_id = refresh_workflow_id(workspace_id, segment_id, utcnow().strftime("%Y%m%dT%H%M%S.%f"))
        client = await temporal.client()
        await client.start_workflow(
            REFRESH_WORKFLOW,
            RefreshInput(workspace_id=workspace_id, segment_id=segment_id, full=True),
            id=workflow_id,
            task_queue=temporal.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        return workflow_id

    @staticmethod
    def _set_filter(segment: Segment, node: Filter) -> None:
        segment.filter = to_json(node)
        segment.time_based = dependencies(node).time_based

    async def _build(self, session: AsyncSession, segment: Segment, node: Filter) -> None:
        now = utcnow()
        loaded = LoadedSegment(segment.id, node, dependencies(node))
        await apply_diff(session, segment.workspace_id, loaded, now, EVERYONE, entry_rate=self._entry_rate)
        segment.refreshed_at = now
