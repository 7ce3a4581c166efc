"""A contact's run told as a timeline: each step it went through, with the outcome and the reason recorded there
(StepRecord.reason and detail), and the same as lines of text for a person to read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from domain.journeys.runtime import JourneyState


class TimelineEntry(BaseModel):
    at: datetime = Field(description="When the contact entered the step.")
    finished_at: datetime | None = None
    node: str
    type: str
    outcome: str | None = None
    reason: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


def timeline(state: JourneyState) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            at=record.entered_at,
            finished_at=record.finished_at,
            node=record.step_id,
            type=record.type,
            outcome=record.outcome,
            reason=record.reason,
            detail=record.detail,
        )
        for record in state.history
    ]


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _detail(detail: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in detail.items())


def _headline(state: JourneyState) -> list[str]:
    lines = [f"Contact {state.contact_id} in journey {state.journey_id} v{state.version}: {state.status}"]
    if state.current_step is not None:
        lines[0] += f", at step {state.current_step}"
    if state.paused:
        lines.append("  paused: sends are held until the journey is resumed")
    if state.holdout:
        lines.append("  in the holdout group: tracked, sent nothing")
    if state.waiting_for or state.wait_until:
        waiting = state.waiting_for or "a timer"
        until = f" until {_when(state.wait_until)}" if state.wait_until else ""
        lines.append(f"  waiting for {waiting}{until}")
    if state.exit is not None:
        lines.append(f"  ended by {state.exit.kind}: {state.exit.reason}")
    if state.error:
        lines.append(f"  failed: {state.error}")
    return lines


def explain_text(state: JourneyState) -> str:
    """The headline (status, where, what it waits for, how it ended) and one line per step."""
    lines = _headline(state)
    if state.history:
        lines.append("Timeline:")
    for entry in timeline(state):
        line = f"  {_when(entry.at)}  {entry.node} ({entry.type})"
        if entry.outcome:
            line += f" -> {entry.outcome}"
        elif entry.finished_at is None:
            line += " -> in progress"
        if entry.reason:
            line += f": {entry.reason}"
        if entry.detail:
            line += f" [{_detail(entry.detail)}]"
        lines.append(line)
    return "\n".join(lines) + "\n"
