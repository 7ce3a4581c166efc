"""The registry of step runners, by step type: what the journey workflow runs for each step (workflow code).

Every type in domain.journeys.steps.STEP_MODELS has exactly one runner here (tests/workflows/steps checks it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.steps.branching import run_ab_split, run_exit, run_goal, run_holdout, run_split
    from workflows.steps.contact import run_adjust_score, run_update_contact
    from workflows.steps.context import Interrupted, JourneyRun, StepOutcome
    from workflows.steps.send_email import run_send
    from workflows.steps.tasks import run_task
    from workflows.steps.waits import run_end, run_wait, run_wait_for_event
    from workflows.steps.webhook import run_webhook

StepRunner = Callable[[JourneyRun, Any], Awaitable[StepOutcome]]

RUNNERS: dict[str, StepRunner] = {
    "send_email": run_send,
    "send_sms": run_send,
    "send_push": run_send,
    "wait": run_wait,
    "wait_for_event": run_wait_for_event,
    "end": run_end,
    "split": run_split,
    "ab_split": run_ab_split,
    "holdout": run_holdout,
    "update_contact": run_update_contact,
    "adjust_score": run_adjust_score,
    "goal": run_goal,
    "exit": run_exit,
    "webhook": run_webhook,
    "human_task": run_task,
    "linkedin_task": run_task,
}

__all__ = ["RUNNERS", "Interrupted", "JourneyRun", "StepOutcome", "StepRunner"]
