"""Names and models of the merge activities and workflow (imported by workflows, worker, API and tests)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# the workflow ids live in domain/identity/runtime.py (the store writes them too); re-exported here
from domain.identity.runtime import merge_workflow_id as merge_workflow_id
from domain.identity.runtime import unmerge_workflow_id as unmerge_workflow_id

MERGE_WORKFLOW = "ContactMerge"
MERGE_ROWS = "identity.merge_rows"
UNMERGE_ROWS = "identity.unmerge_rows"
MOVE_JOURNEYS = "identity.move_journeys"
MERGED_REASON = "merged"


class MergeInput(BaseModel):
    merge_id: str
    action: Literal["merge", "unmerge"] = "merge"


class MergeResult(BaseModel):
    merge_id: str
    status: str
    workspace_id: str = ""
    merged_id: str = ""
    survivor_id: str = ""
    policy: Literal["hand_over", "exit"] = "exit"
    # journeys whose running execution of the merged contact to hand over to the survivor (its enrollment moved)
    hand_over: list[str] = Field(default_factory=list)
    # journeys whose running execution of the merged contact to stop (policy `exit`, or the survivor has its own)
    exit_journeys: list[str] = Field(default_factory=list, description="journeys whose merged execution to stop")


class JourneysMoved(BaseModel):
    stopped: int = 0
    handed_over: int = 0
