"""The workspace merge policy: which identifiers are unique, how two records match, and which value survives a
merge, field by field.

Identifiers are named: `email`, `phone` (E.164), `external_id` (the app's user id, Segment's `userId`),
`anonymous_id`, and external ids per source as `ext:<source>` (`ext:crm`, `ext:billing`). Matching is an OR of
AND groups: `[["external_id"], ["email"]]` matches on the user id or else on the email;
`[["email", "phone"]]` needs both. Two contacts whose values differ for an identifier declared unique are never
merged automatically, whatever the match groups say.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

IDENTIFIER_PATTERN = re.compile(r"^(email|phone|external_id|anonymous_id|ext:[a-z][a-z0-9_]{0,11})$")


def _identifier(name: str) -> str:
    if not IDENTIFIER_PATTERN.match(name):
        raise ValueError(f"unknown identifier {name!r}: use email, phone, external_id, anonymous_id or ext:<source>")
    return name


Identifier = Annotated[str, AfterValidator(_identifier)]


class Survivorship(StrEnum):
    MOST_RECENT = "most_recent"  # the most recently updated non-null value
    SOURCE_PRIORITY = "source_priority"  # the value from the highest-priority source that has one
    UNION = "union"  # lists: the union, order kept, survivor's first


class FieldSurvivorship(BaseModel):
    rule: Survivorship = Survivorship.MOST_RECENT
    sources: list[str] = Field(default_factory=list, max_length=20, description="source_priority: highest first")

    @model_validator(mode="after")
    def _sources_for_priority(self) -> FieldSurvivorship:
        if self.rule is Survivorship.SOURCE_PRIORITY and not self.sources:
            raise ValueError("source_priority needs `sources`, highest priority first")
        return self


class MergePolicy(BaseModel):
    unique: list[Identifier] = Field(default_factory=lambda: ["email", "external_id"], max_length=20)
    match: list[list[Identifier]] = Field(
        default_factory=lambda: [["external_id"], ["email"]],
        min_length=1,
        max_length=20,
        description="OR of AND groups of identifiers",
    )
    survivorship: dict[str, FieldSurvivorship] = Field(
        default_factory=dict, max_length=200, description="per field (a column or attribute); unnamed fields: default"
    )
    default: FieldSurvivorship = Field(default_factory=FieldSurvivorship)
    journeys: Literal["hand_over", "exit"] = Field(
        default="hand_over", description="what the merged contact's running journeys do"
    )
    auto_merge: bool = Field(default=True, description="merge on a match found during ingestion or import")

    @model_validator(mode="after")
    def _groups_not_empty(self) -> MergePolicy:
        if any(not group for group in self.match):
            raise ValueError("a match group names at least one identifier")
        return self

    def rule_for(self, field: str) -> FieldSurvivorship:
        return self.survivorship.get(field, self.default)


DEFAULT_MERGE_POLICY = MergePolicy()
