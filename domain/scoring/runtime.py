"""Names, ids and inputs of the scoring workflows (imported by the API, the worker and the workflows)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

RECOMPUTE_WORKFLOW = "ScoreRecompute"
RECOMPUTE_ALL_WORKFLOW = "ScoreRecomputeAll"
EXPIRE_ALERTS_WORKFLOW = "ScoreAlertExpiry"
PROGRESS_QUERY = "progress"
RECOMPUTE_SCHEDULE_ID = "score-recompute-all"
EXPIRE_ALERTS_SCHEDULE_ID = "score-alert-expiry"
DEFAULT_CHUNK = 5000


def recompute_workflow_id(workspace_id: str) -> str:
    """One recompute per workspace at a time: a second request joins the one under way."""
    return f"score-recompute:{workspace_id}"


class RecomputeInput(BaseModel):
    workspace_id: str
    chunk_size: int = Field(default=DEFAULT_CHUNK, ge=1, le=100_000)
    chunks_per_activity: int = Field(default=50, ge=1)
    heartbeat_timeout_seconds: float = 60.0
    # carried across continue-as-new: where the last run stopped, the reference time of every chunk, counters
    after: str | None = None
    reference: datetime | None = None
    contacts: int = 0
    chunks: int = 0
    crossings: int = 0


class RecomputeProgress(BaseModel):
    workspace_id: str
    reference: datetime | None = None
    after: str | None = None  # the last contact id done
    contacts: int = 0
    chunks: int = 0
    crossings: int = 0
    done: bool = False
    resumed_after_chunks: list[int] = Field(default_factory=list)  # per retried attempt: the chunks it skipped


class RecomputeAllInput(BaseModel):
    chunk_size: int = DEFAULT_CHUNK


class RecomputeAllResult(BaseModel):
    workspaces: int = 0


class ExpireAlertsInput(BaseModel):
    pass


class ExpireAlertsResult(BaseModel):
    closed: int = 0
