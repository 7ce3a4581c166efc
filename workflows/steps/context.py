"""What a step runner gets from the journey workflow running it (JourneyRun), and what it gives back.

A runner is `async def run(journey: JourneyRun, step) -> StepOutcome`: workflow code (deterministic, commands
through the SDK only). It never sleeps on its own: `journey.wait` is the one way to wait, so that every wait
wakes at once for a goal, an exit criterion, a stop or a migration (Interrupted is raised out of it, and the
workflow ends the contact's run where it stands), and so that a long wait may continue as new keeping its deadline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from domain.journeys.definition import JourneyDefinition
from domain.journeys.runtime import (
    JourneyEventSignal,
    JourneyExit,
    JourneyInput,
    JourneyNotice,
    JourneyState,
    StepRecord,
)


@dataclass
class StepOutcome:
    """How a step ended: `outcome` is the branch taken or what happened ("sent", "timeout", "arm:B"...), `next_step`
    where the contact goes (None ends the journey), `reason` why, in words the explain timeline shows, and `detail`
    the facts behind the decision (the A/B arm, the cap rule that deferred a send, the condition's values)."""

    outcome: str
    next_step: str | None
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class Interrupted(Exception):
    """Raised out of JourneyRun.wait (and hold_while_paused) when the run must stop where it stands."""

    def __init__(self, exit: JourneyExit) -> None:
        super().__init__(exit.reason)
        self.exit = exit


class JourneyRun(Protocol):
    """The running journey as a step sees it (implemented by workflows.journey.JourneyWorkflow)."""

    @property
    def input(self) -> JourneyInput: ...

    @property
    def definition(self) -> JourneyDefinition: ...

    @property
    def state(self) -> JourneyState: ...

    @property
    def send_local_first(self) -> bool:
        """Whether a send tries a local activity first (always, but in histories recorded before it)."""
        ...

    @property
    def record(self) -> StepRecord:
        """The history record of the step being run."""
        ...

    def idempotency_key(self, step_id: str, suffix: str = "") -> str:
        """Run-independent key of a side effect of this step: the same across retries and continue-as-new."""
        ...

    def pending_events(self) -> list[JourneyEventSignal]:
        """Events signalled to the run and not consumed yet, oldest first (a step may consume one)."""
        ...

    def take_notice(self, kind: str, key: str) -> JourneyNotice | None:
        """Consume the notice (task completed, webhook answered...) of this kind and key, if it arrived."""
        ...

    async def wait(
        self, step_id: str, length: timedelta | None, done: Callable[[], bool], *, until: datetime | None = None
    ) -> bool:
        """Wait until done() holds, for `length` or until the instant `until` (None and None: without a timer).
        True if done() held. Raises Interrupted on a goal, exit, stop or migration; may continue as new."""
        ...

    async def hold_while_paused(self) -> None:
        """Return at once unless the journey is paused; then wait for resume (raises Interrupted like wait)."""
        ...
