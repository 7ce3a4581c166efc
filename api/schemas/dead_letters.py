"""Request and response bodies of /v1/dead-letters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.validation import MAX_SERIAL_ID
from domain.dead_letters.model import DeadLetterKind, DeadLetterStatus
from domain.json_limits import require_storable
from mauntic.dead_letters.service import Outcome
from store.models import DeadLetter

DeadLetterId = Annotated[int, Field(ge=1, le=MAX_SERIAL_ID)]
ErrorText = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(require_storable)]


class DeadLetterPublic(BaseModel):
    id: int
    kind: DeadLetterKind
    status: DeadLetterStatus
    subject_id: str = Field(description="The failed work's idempotency key (message key, outbox row id ...)")
    workflow_id: str | None
    run_id: str | None
    activity_id: str | None
    journey_id: str | None
    contact_id: str | None
    input: dict[str, Any] = Field(description="The ids the work is rebuilt from on replay")
    error_type: str
    error: str
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None = Field(description="The API key (or `cli:<user>`) that replayed or discarded it")
    resolution: str | None = Field(description="What the replay did")

    @classmethod
    def of(cls, row: DeadLetter) -> DeadLetterPublic:
        return cls.model_validate(row, from_attributes=True)


class DeadLetterSelection(BaseModel):
    """Open dead letters to act on: the listed ids, or those a filter matches (oldest first, at most 1,000)."""

    model_config = ConfigDict(extra="forbid")
    ids: list[DeadLetterId] | None = Field(None, min_length=1, max_length=1000)
    kind: DeadLetterKind | None = None
    error: ErrorText | None = Field(None, description="A substring of the error type or message")
    since: AwareDatetime | None = Field(None, description="Last failed at or after")
    until: AwareDatetime | None = Field(None, description="Last failed before")
    dry_run: bool = Field(False, description="Say what would be done, do nothing")

    @model_validator(mode="after")
    def _ids_or_filter(self) -> DeadLetterSelection:
        filtered = any(v is not None for v in (self.kind, self.error, self.since, self.until))
        if self.ids is None and not filtered:
            raise ValueError("give ids, or at least one of kind, error, since, until")
        if self.ids is not None and filtered:
            raise ValueError("give ids or a filter, not both")
        return self


class OutcomePublic(BaseModel):
    id: int
    kind: str
    action: Literal["replayed", "would_replay", "discarded", "would_discard", "skipped"]
    detail: str

    @classmethod
    def of(cls, outcome: Outcome) -> OutcomePublic:
        return cls(id=outcome.id, kind=outcome.kind, action=outcome.action, detail=outcome.detail)


class BulkResult(BaseModel):
    dry_run: bool
    outcomes: list[OutcomePublic]
    unmatched: list[int] = Field(description="Requested ids not found in this workspace, or no longer open")
