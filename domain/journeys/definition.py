"""The journey definition DSL: a trigger and a graph of steps, and the validation turning raw JSON into one.

`validate_definition` is the only way user input becomes a `JourneyDefinition`. Besides pydantic's field
checks it verifies the step graph (references, reachability, no cycles) and the Liquid templates, and reports
the first problem as a `JourneyDefinitionError` naming the bad node and a stable code.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_core import ErrorDetails

from domain.content.templates import check_syntax
from domain.journeys.conditions import Strict
from domain.journeys.policies import MAX_CRITERIA, SEQUENCE_EXIT_EVENTS, ExitCriterion, Goal, Reentry
from domain.journeys.send_policy import JourneySendPolicy
from domain.journeys.steps import (
    STEP_ID_PATTERN,
    STEP_TYPES,
    EndStep,
    SendEmailStep,
    Step,
    StepId,
    WaitForEventStep,
    WaitStep,
)
from domain.journeys.triggers import Trigger

MAX_STEPS = 200
# A published version travels whole in Temporal payloads (the journey loads it as a local activity result, which
# Temporal caps at 2 MB and warns about from 512 KB). A definition over this is refused when it is validated, so no
# journey can publish something its executions could never load.
MAX_DEFINITION_BYTES = 256 * 1024


def successors(step: Step) -> dict[str, str]:
    """The steps `step` can go to next, keyed by the field that names them."""
    return step.successors()


class JourneyDefinition(Strict):
    kind: Literal["journey", "sequence"] = Field(
        "journey", description="A sequence (sales cadence) also exits on a reply or a booked meeting"
    )
    trigger: Trigger
    start: StepId
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)
    goals: list[Goal] = Field(default_factory=list, max_length=MAX_CRITERIA)
    exit_criteria: list[ExitCriterion] = Field(default_factory=list, max_length=MAX_CRITERIA)
    reentry: Reentry | None = None
    # frequency caps and quiet hours over the workspace default (domain/journeys/send_policy.py); None: the default
    send_policy: JourneySendPolicy | None = None

    @property
    def exits(self) -> list[ExitCriterion]:
        """The exit criteria in force: the designer's, and for a sequence a reply or a booked meeting."""
        if self.kind != "sequence":
            return self.exit_criteria
        implied = [ExitCriterion(event=name) for name in SEQUENCE_EXIT_EVENTS]
        return [*self.exit_criteria, *(c for c in implied if c.event not in {e.event for e in self.exit_criteria})]

    def criteria_event_names(self) -> set[str]:
        """The event names a goal or exit criterion names (the run is signalled these too)."""
        return {c.event for c in [*self.goals, *self.exits] if c.event is not None}

    def signalled_event_names(self) -> set[str]:
        """Every event name a run of this definition must be signalled: waits, goals and exits."""
        return self.wait_event_names() | self.criteria_event_names()

    def criteria_segments(self) -> set[tuple[str, str]]:
        """(outbox kind, segment id) pairs a goal or exit criterion watches."""
        entered = {("segment_entered", g.segment_entered) for g in self.goals if g.segment_entered is not None}
        exited = {("segment_exited", c.segment_exited) for c in self.exits if c.segment_exited is not None}
        return entered | exited

    @property
    def watches_contact(self) -> bool:
        """Whether a goal or exit criterion is a condition on the contact's attributes."""
        return any(c.attribute is not None for c in [*self.goals, *self.exits])

    def canonical(self) -> dict[str, Any]:
        """The definition as stored: compact, and top-level policies left out while at their defaults, so a
        definition saved before they existed compares equal to the same one saved now."""
        stored = self.model_dump(mode="json", exclude_none=True)
        for name in ("goals", "exit_criteria"):
            if not stored.get(name):
                stored.pop(name, None)
        if stored.get("kind") == "journey":
            del stored["kind"]
        return stored

    def step(self, step_id: str) -> Step:
        for candidate in self.steps:
            if candidate.id == step_id:
                return candidate
        raise KeyError(f"journey has no step {step_id!r}")

    def wait_event_names(self) -> set[str]:
        """The event names a run of this definition must be signalled (its buffer keeps only these)."""
        return {step.event for step in self.steps if isinstance(step, WaitForEventStep)}


class JourneyDefinitionError(Exception):
    """Why a raw definition was rejected.

    `node` is a step id (or `steps[i]` when the step has no usable id), `trigger`, `start`, or `definition`.
    """

    def __init__(self, node: str, code: str, message: str) -> None:
        super().__init__(f"{node}: {message}")
        self.node = node
        self.code = code
        self.message = message


def _raw_step_node(raw: object, index: int) -> str:
    """The step's id when the raw input has a usable one, else its position."""
    steps = raw.get("steps") if isinstance(raw, dict) else None
    step = steps[index] if isinstance(steps, list) and index < len(steps) else None
    step_id = step.get("id") if isinstance(step, dict) else None
    if isinstance(step_id, str) and re.fullmatch(STEP_ID_PATTERN, step_id):
        return step_id
    return f"steps[{index}]"


def _path(loc: tuple[int | str, ...]) -> str:
    """('where', 0, 'op') -> 'where[0].op'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _reason(error: ErrorDetails) -> str:
    context = error.get("ctx") or {}
    if error["type"] == "value_error" and "error" in context:
        return str(context["error"])
    return error["msg"]


def _from_pydantic(raw: object, error: ErrorDetails) -> JourneyDefinitionError:
    loc = error["loc"]
    reason = _reason(error)
    if loc[:1] == ("steps",) and len(loc) >= 2 and isinstance(loc[1], int):
        node = _raw_step_node(raw, loc[1])
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            given = f"'{error['input']['type']}'" if error["type"] == "union_tag_invalid" else "missing"
            message = f"step type {given} is not one of: {', '.join(STEP_TYPES)}"
            return JourneyDefinitionError(node, "unknown_step_type", message)
        field = _path(loc[3:])  # loc[2] is the step type the discriminator chose
        where = f"field '{field}'" if field else "step"
        return JourneyDefinitionError(node, "invalid_step", f"{where}: {reason}")
    if loc[:1] in (("goals",), ("exit_criteria",)) and len(loc) >= 2 and isinstance(loc[1], int):
        field = _path(loc[2:])
        code = "invalid_goal" if loc[0] == "goals" else "invalid_exit_criterion"
        return JourneyDefinitionError(f"{loc[0]}[{loc[1]}]", code, f"field '{field}': {reason}" if field else reason)
    if loc[:1] == ("trigger",):
        field = _path(loc[1:])
        return JourneyDefinitionError("trigger", "invalid_trigger", f"field '{field}': {reason}" if field else reason)
    if not loc:
        return JourneyDefinitionError("definition", "invalid_definition", reason)
    return JourneyDefinitionError(str(loc[0]), "invalid_definition", f"field '{_path(loc)}': {reason}")


def _check_ids_and_references(definition: JourneyDefinition) -> None:
    seen: set[str] = set()
    for step in definition.steps:
        if step.id in seen:
            raise JourneyDefinitionError(step.id, "duplicate_step_id", f"step id '{step.id}' is used twice")
        seen.add(step.id)
    if definition.start not in seen:
        message = f"start points at '{definition.start}', which is not a step"
        raise JourneyDefinitionError("start", "unknown_step_reference", message)
    for step in definition.steps:
        for field, target in successors(step).items():
            if target not in seen:
                message = f"field '{field}' points at '{target}', which is not a step"
                raise JourneyDefinitionError(step.id, "unknown_step_reference", message)
    _check_sends_read(definition)


def _check_sends_read(definition: JourneyDefinition) -> None:
    by_id = {step.id: step for step in definition.steps}
    for step in definition.steps:
        for field, target in step.sends_read().items():
            read = by_id.get(target)
            if read is None or not read.type.startswith("send_"):
                what = "not a step" if read is None else f"of type {read.type}, not a send"
                message = f"field '{field}' reads the message of '{target}', which is {what}"
                raise JourneyDefinitionError(step.id, "unknown_send_step", message)


def _check_acyclic_and_reachable(definition: JourneyDefinition) -> None:
    # Iterative depth-first search from start; a successor still on the path closes a cycle.
    by_id = {step.id: step for step in definition.steps}
    visited: set[str] = set()
    path: list[str] = [definition.start]
    pending: list[list[str]] = [list(successors(by_id[definition.start]).values())]
    visited.add(definition.start)
    while path:
        if not pending[-1]:
            path.pop()
            pending.pop()
            continue
        target = pending[-1].pop(0)
        if target in path:
            cycle = " -> ".join([*path[path.index(target) :], target])
            raise JourneyDefinitionError(path[-1], "cycle", f"steps form a cycle: {cycle}")
        if target not in visited:
            visited.add(target)
            path.append(target)
            pending.append(list(successors(by_id[target]).values()))
    for step in definition.steps:
        if step.id not in visited:
            message = f"step '{step.id}' cannot be reached from start"
            raise JourneyDefinitionError(step.id, "unreachable_step", message)


def _check_goals(definition: JourneyDefinition) -> None:
    seen: set[str] = set()
    for index, goal in enumerate(definition.goals):
        if goal.id in seen:
            raise JourneyDefinitionError(f"goals[{index}]", "duplicate_goal_id", f"goal id '{goal.id}' is used twice")
        seen.add(goal.id)


def _check_templates(definition: JourneyDefinition) -> None:
    for step in definition.steps:
        for field, source in step.templates().items():
            problem = check_syntax(source)
            if problem is not None:
                raise JourneyDefinitionError(step.id, "invalid_template", f"field '{field}': {problem}")


def definition_size(raw: object) -> int:
    """Bytes of the definition as compact UTF-8 JSON (what is stored and carried in payloads)."""
    try:
        return len(json.dumps(raw, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))
    except (TypeError, ValueError, RecursionError):
        return MAX_DEFINITION_BYTES + 1  # not JSON we could store anyway


def _check_size(raw: object) -> None:
    size = definition_size(raw)
    if size > MAX_DEFINITION_BYTES:
        raise JourneyDefinitionError(
            "definition",
            "definition_too_large",
            f"the definition is {size} bytes of JSON; at most {MAX_DEFINITION_BYTES} are accepted",
        )


def validate_definition(raw: object) -> JourneyDefinition:
    """Parse and fully check a journey definition; raise JourneyDefinitionError on the first problem."""
    if isinstance(raw, JourneyDefinition):
        raw = raw.model_dump(mode="json")
    if not isinstance(raw, dict):
        raise JourneyDefinitionError("definition", "invalid_definition", "a journey definition must be an object")
    _check_size(raw)  # before the work of validating it
    try:
        definition = JourneyDefinition.model_validate(raw)
    except ValidationError as err:
        raise _from_pydantic(raw, err.errors(include_url=False)[0]) from None
    _check_size(definition.canonical())  # as it is stored
    _check_ids_and_references(definition)
    _check_acyclic_and_reachable(definition)
    _check_goals(definition)
    _check_templates(definition)
    return definition


__all__ = [
    "MAX_DEFINITION_BYTES",
    "MAX_STEPS",
    "STEP_ID_PATTERN",
    "STEP_TYPES",
    "EndStep",
    "JourneyDefinition",
    "JourneyDefinitionError",
    "SendEmailStep",
    "Step",
    "StepId",
    "WaitForEventStep",
    "WaitStep",
    "definition_size",
    "successors",
    "validate_definition",
]
