"""Names and input/output models of the scoring activities (imported by workflows, worker and tests)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

RECOMPUTE_CHUNKS = "scoring.recompute_chunks"
SCORED_WORKSPACES = "scoring.scored_workspaces"
EXPIRE_ALERTS = "scoring.expire_alerts"


class RecomputeChunksInput(BaseModel):
    workspace_id: str
    after: str | None
    chunk_size: int
    max_chunks: int
    reference: datetime


class ChunkProgress(BaseModel):
    """Heartbeat details: where a retried attempt resumes."""

    after: str | None
    contacts: int = 0
    chunks: int = 0
    crossings: int = 0


class RecomputeChunksOutput(BaseModel):
    after: str | None
    contacts: int
    chunks: int
    crossings: int
    done: bool
    resumed_after_chunks: int | None = None  # an attempt retried after a lost worker: the chunks its heartbeat held


class ScoredWorkspacesInput(BaseModel):
    pass


class ScoredWorkspacesOutput(BaseModel):
    workspace_ids: list[str]


class ExpireAlertsActivityInput(BaseModel):
    now: datetime


class ExpireAlertsActivityOutput(BaseModel):
    closed: int
