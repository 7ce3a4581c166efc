"""Names and input/output models of segment refresh: the workflow, its activities, and the Schedule's ids."""

from __future__ import annotations

from pydantic import BaseModel

REFRESH_WORKFLOW = "SegmentRefresh"
REFRESH_SCHEDULE_ID = "segment-refresh"
LIST_TIME_BASED = "segments.list_time_based"
REFRESH_SEGMENT = "segments.refresh"


def refresh_workflow_id(workspace_id: str, segment_id: str, at: str) -> str:
    return f"segment-refresh:{workspace_id}:{segment_id}:{at}"


class RefreshInput(BaseModel):
    """One segment (`segment_id` with its workspace), or (empty) every time-based segment of every workspace."""

    workspace_id: str | None = None
    segment_id: str | None = None
    full: bool = False  # every contact, rather than those time may have moved since the last refresh


class RefreshOutput(BaseModel):
    segments: int = 0
    entered: int = 0
    exited: int = 0


class SegmentRef(BaseModel):
    workspace_id: str
    segment_id: str


class ListTimeBasedInput(BaseModel):
    pass


class ListTimeBasedOutput(BaseModel):
    segments: list[SegmentRef]


class RefreshSegmentInput(BaseModel):
    workspace_id: str
    segment_id: str
    full: bool = False


class RefreshSegmentOutput(BaseModel):
    exists: bool = True
    incremental: bool = False
    chunks: int = 0
    entered: int = 0
    exited: int = 0


class RefreshProgress(BaseModel):
    """Heartbeat details: the last contact id done, so a retried attempt resumes after it."""

    after: str | None = None
    chunks: int = 0
    entered: int = 0
    exited: int = 0
