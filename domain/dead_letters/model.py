"""What a dead letter is: its kind, its status, and the transitions between statuses (pure functions).

A dead letter is one piece of work that failed for good: a send, a webhook delivery, a journey step, an outbox row
the dispatcher could not apply, a CRM push. It is identified by its kind and its subject, the idempotency key of
the failed work (a message's idempotency key, a delivery id, an outbox row id ...), so recording the same failure
twice (a retried activity, a dispatcher settling a batch again) keeps one row.

    open --replay--> replayed
    open --discard--> discarded
    replayed | discarded --fail again--> open   (the same work failed once more after a replay)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class DeadLetterKind(StrEnum):
    SEND = "send"
    WEBHOOK_DELIVERY = "webhook_delivery"
    JOURNEY_STEP = "journey_step"
    DISPATCH = "dispatch"
    CRM_PUSH = "crm_push"


class DeadLetterStatus(StrEnum):
    OPEN = "open"
    REPLAYED = "replayed"
    DISCARDED = "discarded"


class DeadLetterTransitionError(ValueError):
    """A transition the status machine does not allow (replaying a discarded item, discarding twice ...)."""

    def __init__(self, status: DeadLetterStatus, action: str) -> None:
        super().__init__(f"a {status.value} dead letter cannot be {action}")
        self.status = status
        self.action = action


def replayed(status: DeadLetterStatus) -> DeadLetterStatus:
    if status is not DeadLetterStatus.OPEN:
        raise DeadLetterTransitionError(status, "replayed")
    return DeadLetterStatus.REPLAYED


def discarded(status: DeadLetterStatus) -> DeadLetterStatus:
    if status is not DeadLetterStatus.OPEN:
        raise DeadLetterTransitionError(status, "discarded")
    return DeadLetterStatus.DISCARDED


def failed_again(status: DeadLetterStatus) -> DeadLetterStatus:
    """The same subject failed once more: whatever became of it, it is open again (nothing fails silently)."""
    del status
    return DeadLetterStatus.OPEN


@dataclass(frozen=True, slots=True)
class DeadLetterIn:
    """One failure to record. `input` holds ids, never payloads (the work is rebuilt from them on replay)."""

    workspace_id: str
    kind: DeadLetterKind
    subject_id: str
    error_type: str
    error: str
    failed_at: datetime
    input: Mapping[str, Any] = field(default_factory=dict)
    workflow_id: str | None = None
    run_id: str | None = None
    activity_id: str | None = None
    journey_id: str | None = None
    contact_id: str | None = None
    attempts: int = 1
    first_failed_at: datetime | None = None  # default: failed_at
