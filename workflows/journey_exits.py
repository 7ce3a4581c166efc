"""How a run that stops where it stands is recorded (workflow code, deterministic): the step it was at, the
search attributes it finishes with, and where a migration puts it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio.common import SearchAttributeUpdate

from domain.journeys.definition import JourneyDefinition
from domain.journeys.policies import matching_exit, matching_goal
from domain.journeys.runtime import JourneyControl, JourneyEventSignal, JourneyExit, JourneyState
from workflows.search_attributes import SA_OUTCOME, SA_STEP, SA_VERSION


def exit_record(state: JourneyState, stop: JourneyExit, now: datetime) -> None:
    """The step the contact stood at ends with the exit's kind as its outcome and its reason."""
    if state.history and state.history[-1].finished_at is None:
        record = state.history[-1]
        record.finished_at = now
        record.outcome = stop.kind
        record.reason = stop.reason
        if stop.goal_id is not None:
            record.detail = {**record.detail, "goal": stop.goal_id}


def finish_search_attributes(last_step: str | None, outcome: str) -> list[SearchAttributeUpdate[str]]:
    """Where the run ended and how (MaunticOutcome: converted, exited), for the journey's stats and lists."""
    updates: list[SearchAttributeUpdate[str]] = [SA_OUTCOME.value_set(outcome)]
    if last_step is not None:
        updates.append(SA_STEP.value_set(last_step))
    return updates


def interrupt_for(migration: JourneyControl, step_id: str) -> JourneyExit | None:
    """A migration applied at `step_id`: onward at the mapped node of the new version; where the map does not
    name this node, an exit (unmapped "exit": the designer chose to exit the contacts standing there) or nothing
    at all (unmapped "stay": they finish on their version)."""
    target = migration.node_map.get(step_id)
    if target is None:
        if migration.unmapped == "stay":
            return None
        reason = f"migrated to v{migration.version}: step {step_id!r} has no place in it"
        return JourneyExit(kind="exit", reason=reason, version=migration.version)
    reason = f"migrated to v{migration.version}: {step_id!r} -> {target!r}"
    return JourneyExit(kind="migrate", reason=reason, version=migration.version, node=target)


def criteria_exit(definition: JourneyDefinition, signal: JourneyEventSignal) -> JourneyExit | None:
    """The goal the signal reaches (a conversion), else the exit criterion it meets, else None."""
    goal = matching_goal(definition.goals, signal.kind, signal.name, signal.properties)
    if goal is not None:
        reason = f"goal {goal.id!r} reached: {goal.describe()}"
        return JourneyExit(kind="goal", reason=reason, goal_id=goal.id, event_id=signal.event_id)
    criterion = matching_exit(definition.exits, signal.kind, signal.name, signal.properties)
    if criterion is not None:
        return JourneyExit(kind="exit", reason=f"exit criterion met: {criterion.describe()}", event_id=signal.event_id)
    return None


def migrated_search_attributes(version: int, node: str) -> list[SearchAttributeUpdate[Any]]:
    """A run moved to another version is counted under it (MaunticJourneyVersion) and at its new node, by the
    journey's stats and by a later migration's query (continue-as-new carries the attributes over)."""
    return [SA_VERSION.value_set(version), SA_STEP.value_set(node)]
