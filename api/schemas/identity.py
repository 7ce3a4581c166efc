"""Request and response bodies of identity: the merge policy and merges."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from activities.identity.contracts import unmerge_workflow_id
from api.schemas.base import SafeInput
from domain.identity.policy import FieldSurvivorship, Identifier
from store.models_identity import ContactMerge


class MergePolicyBody(SafeInput):
    unique: list[Identifier] = Field(default_factory=lambda: ["email", "external_id"], max_length=20)
    match: list[list[Identifier]] = Field(default_factory=lambda: [["external_id"], ["email"]], max_length=20)
    survivorship: dict[str, FieldSurvivorship] = Field(default_factory=dict, max_length=200)
    default: FieldSurvivorship = Field(default_factory=FieldSurvivorship)
    journeys: Literal["hand_over", "exit"] = "hand_over"
    auto_merge: bool = True


class MergeRequest(SafeInput):
    survivor_id: str = Field(min_length=1, max_length=40, description="the contact that stays")
    merged_id: str = Field(min_length=1, max_length=40, description="the contact merged into the survivor")


class MergePublic(BaseModel):
    """A merge: `running` until the workflow applied it, then `completed` (or `refused`, with `error`);
    `undoing` once an unmerge was asked, `undone` once it was applied."""

    id: str
    workspace_id: str
    survivor_id: str
    merged_id: str
    status: Literal["running", "completed", "refused", "undoing", "undone"]
    workflow_id: str = Field(description="the merge's workflow (Temporal UI)")
    unmerge_workflow_id: str | None = Field(None, description="the unmerge's workflow, once one was asked")
    moved: dict[str, int] = Field(default_factory=dict, description="table -> rows moved to the survivor")
    skipped: dict[str, int] = Field(
        default_factory=dict, description="table -> rows kept on the merged contact (the survivor had their twin)"
    )
    journeys: dict[str, Any] = Field(
        default_factory=dict, description="the policy applied and the journeys handed over or exited"
    )
    error: str | None = None
    created_at: datetime
    completed_at: datetime | None = None
    undone_at: datetime | None = None

    @classmethod
    def of(cls, merge: ContactMerge) -> MergePublic:
        asked_unmerge = merge.status in ("undoing", "undone")
        return cls(
            id=merge.id, workspace_id=merge.workspace_id, survivor_id=merge.survivor_id, merged_id=merge.merged_id,
            status=merge.status,
            workflow_id=merge.workflow_id,
            unmerge_workflow_id=unmerge_workflow_id(merge.workspace_id, merge.id) if asked_unmerge else None,
            moved={table: len(keys) for table, keys in (merge.moved or {}).items()},
            skipped={table: len(keys) for table, keys in (merge.skipped or {}).items()},
            journeys=dict((merge.snapshot or {}).get("journeys") or {}),
            error=merge.error, created_at=merge.created_at, completed_at=merge.completed_at, undone_at=merge.undone_at,
        )  # fmt: skip


class DuplicateGroupPublic(BaseModel):
    identifier: str
    value: str = Field(description="The shared value, in its key form (an email lower-cased, a phone in E.164)")
    contact_ids: list[str] = Field(description="Newest first: the first holds the value as unique")


class Duplicates(BaseModel):
    data: list[DuplicateGroupPublic]
