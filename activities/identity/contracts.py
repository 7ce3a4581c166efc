"""Names and models of the merge activities and workflow (imported by workflows, worker, API and tests)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

MERGE_WORKFLOW = "ContactMerge"
MERGE_ROWS = "identity.merge_rows"
UNMERGE_ROWS = "identity.unmerge_rows"
EXIT_JOURNEYS = "identity.exit_journeys"
MERGED_REASON = "merged"


def merge_workflow_id(workspace_id: str, merged_id: str) -> str:
    return f"contact-merge:{workspace_id}:{merged_id}"


def unmerge_workflow_id(workspace_id: str, merge_id: str) -> str:
    return f"contact-unmerge:{workspace_id}:{merge_id}"


class MergeInput(BaseModel):
    merge_id: str
    action: Literal["merge", "unmerge"] = "merge"


class MergeResult(BaseModel):
    merge_id: str
    status: str
    workspace_id: str = ""
    merged_id: str = ""
    exit_journeys: list[str] = Field(default_factory=list, description="journeys whose merged execution to stop")
