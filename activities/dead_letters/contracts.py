"""Names and models of the dead-letter context's activities and workflows (workflows, worker, tests import them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from domain.dead_letters.model import DeadLetterKind

RECORD_DEAD_LETTER = "dead_letters.record"


class RecordDeadLetterInput(BaseModel):
    """A failure a workflow saw (its activity exhausted its retries or failed for good). Ids only in `input`."""

    workspace_id: str
    kind: DeadLetterKind
    subject_id: str
    workflow_id: str
    run_id: str
    activity_id: str | None = None
    journey_id: str | None = None
    contact_id: str | None = None
    input: dict[str, Any] = Field(default_factory=dict)
    error_type: str
    error: str
    attempts: int = 1
    first_failed_at: datetime | None = None


class RecordDeadLetterOutput(BaseModel):
    recorded: bool


REPLAY_SEND_WORKFLOW = "dead_letters.replay_send"


class ReplaySendInput(BaseModel):
    """Run a dead-lettered send again under its own idempotency key (a message sent meanwhile is not sent twice)."""

    dead_letter_id: int
    workspace_id: str
    journey_id: str
    version: int
    step_id: str
    contact_id: str
    idempotency_key: str
