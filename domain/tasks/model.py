"""A task's status as a small state machine: open -> completed (through the API), expired (its due time passed
first) or cancelled (the contact's run ended while it was open: a goal, an exit criterion, a stop). Nothing leaves
completed, expired or cancelled."""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class TaskCompletionError(Exception):
    """Why a completion is refused: `code` is stable (task_not_open, unknown_task_outcome)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_completion(status: str, outcome: str, outcomes: list[str]) -> None:
    """Raise TaskCompletionError unless an open task may be completed with this outcome."""
    if status != TaskStatus.OPEN:
        raise TaskCompletionError("task_not_open", f"the task is {status}, not open")
    if outcome not in outcomes:
        raise TaskCompletionError(
            "unknown_task_outcome", f"outcome {outcome!r} is not one of this task's: {', '.join(outcomes)}"
        )
