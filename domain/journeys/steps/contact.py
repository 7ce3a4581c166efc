"""Steps that change the contact: update its attributes, adjust a score."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from domain.journeys.steps.base import Reference, StepBase, StepId
from domain.json_limits import require_storable
from domain.scoring.rules import GROUP_PATTERN, MAX_POINTS, TOTAL

MAX_ATTRIBUTES = 50
AttributeName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_$@:-]{1,64}$")]
# A contact is found again by these: a journey never removes them (setting them is allowed).
NOT_UNSETTABLE = ("email", "phone", "external_id")


def is_template(value: object) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


class UpdateContactStep(StepBase):
    """`set` writes attributes (a string with `{{ }}` or `{% %}` is a Liquid template, rendered for the contact;
    `email`, `phone`, `first_name`, `last_name`, `timezone` go to the contact's fields, as identify traits do);
    `unset` removes custom attributes (and clears first_name, last_name, timezone)."""

    type: Literal["update_contact"] = "update_contact"
    set: dict[AttributeName, Annotated[Any, AfterValidator(require_storable)]] = Field(
        default_factory=dict, max_length=MAX_ATTRIBUTES
    )
    unset: list[AttributeName] = Field(default_factory=list, max_length=MAX_ATTRIBUTES)
    next: StepId | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> UpdateContactStep:
        if not self.set and not self.unset:
            raise ValueError("give at least one attribute in set or unset")
        both = sorted(set(self.set) & set(self.unset))
        if both:
            raise ValueError(f"{', '.join(both)}: both set and unset")
        kept = sorted(set(self.unset) & set(NOT_UNSETTABLE))
        if kept:
            raise ValueError(f"{', '.join(kept)} cannot be unset: the contact is found by it")
        return self

    def templates(self) -> dict[str, str]:
        return {f"set.{name}": value for name, value in self.set.items() if is_template(value)}

    def successors(self) -> dict[str, str]:
        return {"next": self.next} if self.next is not None else {}


class AdjustScoreStep(StepBase):
    """Adds `delta` points (negative: removes) to the contact's score in `group`, once per run of the step."""

    type: Literal["adjust_score"] = "adjust_score"
    group: Annotated[str, StringConstraints(pattern=GROUP_PATTERN)]
    delta: Annotated[float, Field(ge=-MAX_POINTS, le=MAX_POINTS, allow_inf_nan=False)]
    next: StepId | None = None

    @model_validator(mode="after")
    def _meaningful(self) -> AdjustScoreStep:
        if self.group == TOTAL:
            raise ValueError("the group 'total' is the sum over groups: adjust one group")
        if self.delta == 0:
            raise ValueError("delta must not be 0")
        return self

    def references(self) -> list[Reference]:
        return [Reference("score_group", self.group, "group")]

    def successors(self) -> dict[str, str]:
        return {"next": self.next} if self.next is not None else {}
