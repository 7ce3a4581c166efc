"""Set-based segment refresh: a segment re-evaluated over its whole workspace, a chunk of contacts at a time.

Each chunk is an id range (after, upto] evaluated by store.segments.apply_diff in its own transaction (who
entered and who left computed by the database for that range); the activity heartbeats the last id done, so an
attempt retried after a worker died resumes where the last one got to. Members outside every range (contacts
deleted since) leave in the last chunk, whose range is open-ended.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.segments.contracts import (
    LIST_TIME_BASED,
    REFRESH_SEGMENT,
    ListTimeBasedInput,
    ListTimeBasedOutput,
    RefreshProgress,
    RefreshSegmentInput,
    RefreshSegmentOutput,
    SegmentRef,
)
from domain.clock import utcnow
from store.segment_sql import Scope, time_candidates
from store.segments import (
    LoadedSegment,
    apply_diff,
    chunk_upper_bound,
    get_segment,
    load,
    mark_refreshed,
    time_based_segments,
)


class SegmentActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], chunk: int, entry_rate: float) -> None:
        self._sessions = sessions
        self._chunk = chunk
        self._entry_rate = entry_rate

    @activity.defn(name=LIST_TIME_BASED)
    async def list_time_based(self, _: ListTimeBasedInput) -> ListTimeBasedOutput:
        async with self._sessions() as session:
            rows = await time_based_segments(session)
        return ListTimeBasedOutput(segments=[SegmentRef(workspace_id=ws, segment_id=sid) for ws, sid in rows])

    async def _incremental(
        self, workspace_id: str, segment: LoadedSegment, since: datetime, now: datetime
    ) -> RefreshSegmentOutput:
        """Only the contacts time may have moved since the last refresh (store.segment_sql.time_candidates)."""
        candidates = time_candidates(workspace_id, segment.filter, since, now)
        async with self._sessions() as session, session.begin():
            entered = exited = 0
            if candidates is not None:
                diff = await apply_diff(
                    session, workspace_id, segment, now, Scope(among=candidates), entry_rate=self._entry_rate
                )
                entered, exited = len(diff.entered), len(diff.exited)
            await mark_refreshed(session, segment.id, now)
        activity.heartbeat(RefreshProgress(chunks=1, entered=entered, exited=exited).model_dump())
        return RefreshSegmentOutput(incremental=True, chunks=1, entered=entered, exited=exited)

    @activity.defn(name=REFRESH_SEGMENT)
    async def refresh(self, request: RefreshSegmentInput) -> RefreshSegmentOutput:
        details = activity.info().heartbeat_details
        progress = RefreshProgress.model_validate(details[0]) if details else RefreshProgress()
        async with self._sessions() as session:
            row = await get_segment(session, request.workspace_id, request.segment_id)
        if row is None:
            return RefreshSegmentOutput(exists=False)
        segment = load(row)
        now = utcnow()  # one instant for every chunk, so windows end at the same time throughout
        if not request.full and row.refreshed_at is not None:
            return await self._incremental(request.workspace_id, segment, row.refreshed_at, now)
        while True:
            async with self._sessions() as session, session.begin():
                upto = await chunk_upper_bound(session, request.workspace_id, progress.after, self._chunk)
                scope = Scope(after=progress.after, upto=upto)
                diff = await apply_diff(session, request.workspace_id, segment, now, scope, entry_rate=self._entry_rate)
                if upto is None:
                    await mark_refreshed(session, segment.id, now)
            progress = RefreshProgress(
                after=upto,
                chunks=progress.chunks + 1,
                entered=progress.entered + len(diff.entered),
                exited=progress.exited + len(diff.exited),
            )
            activity.heartbeat(progress.model_dump())
            if upto is None:
                return RefreshSegmentOutput(chunks=progress.chunks, entered=progress.entered, exited=progress.exited)
