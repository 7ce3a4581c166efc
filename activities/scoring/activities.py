"""Activities of the scoring workflows: chunks of the batch recompute, the workspaces to recompute, alert expiry.

`recompute_chunks` does up to `max_chunks` chunks (each its own transaction, store/scoring_recompute.py) and
heartbeats after each with where it stands; an attempt retried after a worker was killed reads the last heartbeat
and goes on from the chunk after it, so a kill costs at most the chunk that was under way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.scoring.contracts import (
    EXPIRE_ALERTS,
    RECOMPUTE_CHUNKS,
    SCORED_WORKSPACES,
    ChunkProgress,
    ExpireAlertsActivityInput,
    ExpireAlertsActivityOutput,
    RecomputeChunksInput,
    RecomputeChunksOutput,
    ScoredWorkspacesInput,
    ScoredWorkspacesOutput,
)
from store.score_alerts import close_expired
from store.scoring_recompute import ChunkResult, recompute_chunk
from store.scoring_rules import Scoring, load_scoring
from store.scoring_sql import RULES

ChunkFn = Callable[[AsyncSession, str, Scoring, str | None, int, datetime], Awaitable[ChunkResult]]


class ScoringActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], chunk: ChunkFn = recompute_chunk) -> None:
        self._sessions = sessions
        self._chunk = chunk  # the store's; the kill test slows it down to kill a worker mid-run

    def all(self) -> list[Any]:
        return [self.recompute_chunks, self.scored_workspaces, self.expire_alerts]

    @activity.defn(name=RECOMPUTE_CHUNKS)
    async def recompute_chunks(self, request: RecomputeChunksInput) -> RecomputeChunksOutput:
        details = activity.info().heartbeat_details
        progress = ChunkProgress(after=request.after)
        resumed = None
        if details:
            progress = ChunkProgress.model_validate(details[0])
            resumed = progress.chunks
            activity.logger.info("recompute resumes after contact %s (%d chunks done)", progress.after, progress.chunks)
        async with self._sessions() as session:
            scoring = await load_scoring(session, request.workspace_id)
        done = False
        for _ in range(request.max_chunks - progress.chunks):
            async with self._sessions() as session:
                chunk = await self._chunk(
                    session, request.workspace_id, scoring, progress.after, request.chunk_size, request.reference
                )
            if chunk.last_contact_id is None:
                done = True
                break
            progress = ChunkProgress(
                after=chunk.last_contact_id,
                contacts=progress.contacts + chunk.contacts,
                chunks=progress.chunks + 1,
                crossings=progress.crossings + chunk.crossings,
            )
            activity.heartbeat(progress.model_dump(mode="json"))
        return RecomputeChunksOutput(
            after=progress.after,
            contacts=progress.contacts,
            chunks=progress.chunks,
            crossings=progress.crossings,
            done=done,
            resumed_after_chunks=resumed,
        )

    @activity.defn(name=SCORED_WORKSPACES)
    async def scored_workspaces(self, _: ScoredWorkspacesInput) -> ScoredWorkspacesOutput:
        async with self._sessions() as session:
            rows = await session.execute(select(RULES.c.workspace_id).distinct().order_by(RULES.c.workspace_id))
            return ScoredWorkspacesOutput(workspace_ids=list(rows.scalars()))

    @activity.defn(name=EXPIRE_ALERTS)
    async def expire_alerts(self, request: ExpireAlertsActivityInput) -> ExpireAlertsActivityOutput:
        async with self._sessions() as session:
            closed = await close_expired(session, request.now)
            await session.commit()
        return ExpireAlertsActivityOutput(closed=closed)
