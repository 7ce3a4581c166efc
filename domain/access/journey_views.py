"""A journey run's state as a role may read it: the contact values its records carry pass the field policy.

What a run records about the contact: a condition split's facts (`detail.facts.attributes`, by property path) and
the reason that quotes them (`attribute email="j@x.io" eq ...`), and an update step's changes (`detail.changed`).
Hidden values leave the record and the reason; masked ones are masked in both. A reason that would still quote a
restricted value after that (a value also named in another condition's words) is withheld.
"""

from __future__ import annotations

import json
from typing import Any

from domain.access.fields import FieldMode, FieldPolicy, apply_paths, mask_value
from domain.journeys.runtime import JourneyState, StepRecord

WITHHELD = "(withheld: it quotes a contact field the key's role cannot read)"
HIDDEN_VALUE = "(hidden)"


def _quoted(value: Any) -> str:
    # as domain/journeys/steps/split_conditions.py quotes a seen value in a reason
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _reason(policy: FieldPolicy, reason: str | None, values: dict[str, Any]) -> str | None:
    if not reason:
        return reason
    restricted = {
        path: value
        for path, value in values.items()
        if policy.mode_of_path(path) in (FieldMode.HIDDEN, FieldMode.MASKED) and value is not None
    }
    for path, value in restricted.items():
        hidden = policy.mode_of_path(path) is FieldMode.HIDDEN
        shown = HIDDEN_VALUE if hidden else _quoted(mask_value(path, value))
        reason = reason.replace(f"{path}={_quoted(value)}", f"{path}={shown}")
    for value in restricted.values():
        raw = value if isinstance(value, str) else _quoted(value)
        if raw and raw in reason:
            return WITHHELD
    return reason


def redact_record(policy: FieldPolicy, record: StepRecord) -> StepRecord:
    detail = dict(record.detail)
    seen: dict[str, Any] = {}
    facts = detail.get("facts")
    if isinstance(facts, dict) and isinstance(facts.get("attributes"), dict):
        seen.update(facts["attributes"])
        detail["facts"] = {**facts, "attributes": apply_paths(policy, facts["attributes"])}
    changed = detail.get("changed")
    if isinstance(changed, dict):
        seen.update(changed)
        detail["changed"] = apply_paths(policy, changed)
    if not seen:
        return record
    return record.model_copy(update={"detail": detail, "reason": _reason(policy, record.reason, seen)})


def redact_state(policy: FieldPolicy, state: JourneyState) -> JourneyState:
    if policy.unrestricted:
        return state
    return state.model_copy(update={"history": [redact_record(policy, r) for r in state.history]})
