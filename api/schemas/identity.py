"""Request and response bodies of identity: the merge policy and merges."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.base import SafeInput
from domain.identity.policy import FieldSurvivorship, Identifier


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
    id: str
    workspace_id: str
    survivor_id: str
    merged_id: str
    status: str
    workflow_id: str
    moved: dict[str, Any] = Field(default_factory=dict, description="table -> keys moved to the survivor")
    skipped: dict[str, Any] = Field(default_factory=dict, description="table -> keys kept on the merged contact")
    created_at: datetime
    undone_at: datetime | None = None


class DuplicateGroupPublic(BaseModel):
    identifier: str
    value: str = Field(description="The shared value, in its key form (an email lower-cased, a phone in E.164)")
    contact_ids: list[str] = Field(description="Newest first: the first holds the value as unique")


class Duplicates(BaseModel):
    data: list[DuplicateGroupPublic]
