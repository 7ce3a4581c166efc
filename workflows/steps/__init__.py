"""The registry of step runners, by step type: what the journey workflow runs for each step (workflow code).

Every type in domain.journeys.steps.STEP_MODELS has exactly one runner here (tests/workflows/steps checks it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.steps.context import Interrupted, JourneyRun, StepOutcome
    from workflows.steps.send_email import run_send
    from workflows.steps.waits import run_end, run_wait, run_wait_for_event

StepRunner = Callable[[JourneyRun, Any], Awaitable[StepOutcome]]

RUNNERS: dict[str, StepRunner] = {
    "send_email": run_send,
    "send_sms": run_send,
    "send_push": run_send,
    "wait": run_wait,
    "wait_for_event": run_wait_for_event,
    "end": run_end,
}

__all__ = ["RUNNERS", "Interrupted", "JourneyRun", "StepOutcome", "StepRunner"]
