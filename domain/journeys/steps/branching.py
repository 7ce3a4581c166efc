"""Steps that choose where a contact goes, or end its run: condition split, A/B split, holdout, goal, exit."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from domain.journeys.conditions import Strict
from domain.journeys.steps.base import Reference, StepBase, StepId
from domain.journeys.steps.split_conditions import (
    Condition,
    EngagementCondition,
    ScoreCondition,
    SegmentCondition,
    check_conditions,
    leaves,
)
from domain.scoring.rules import TOTAL

MAX_BRANCHES = 20
MAX_ARMS = 20
MAX_WEIGHT = 1_000_000
ArmId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class SplitBranch(Strict):
    condition: Condition
    next: StepId | None = None


class SplitStep(StepBase):
    """The first branch whose condition holds, in the order written; else `default` (absent: the run ends)."""

    type: Literal["split"] = "split"
    branches: list[SplitBranch] = Field(min_length=1, max_length=MAX_BRANCHES)
    default: StepId | None = None

    @model_validator(mode="after")
    def _bounded(self) -> SplitStep:
        check_conditions([branch.condition for branch in self.branches])
        return self

    def successors(self) -> dict[str, str]:
        found = {f"branches[{i}]": b.next for i, b in enumerate(self.branches) if b.next is not None}
        if self.default is not None:
            found["default"] = self.default
        return found

    def references(self) -> list[Reference]:
        found: list[Reference] = []
        for index, branch in enumerate(self.branches):
            for leaf in leaves(branch.condition):
                if isinstance(leaf, SegmentCondition):
                    found.append(Reference("segment", leaf.segment, f"branches[{index}].condition.segment"))
                elif isinstance(leaf, ScoreCondition) and leaf.score.group != TOTAL:
                    found.append(Reference("score_group", leaf.score.group, f"branches[{index}].condition.score"))
        return found

    def sends_read(self) -> dict[str, str]:
        return {
            f"branches[{index}].condition.engagement": leaf.engagement.step
            for index, branch in enumerate(self.branches)
            for leaf in leaves(branch.condition)
            if isinstance(leaf, EngagementCondition)
        }


class Arm(Strict):
    id: ArmId
    weight: Annotated[int, Field(gt=0, le=MAX_WEIGHT, strict=True)]
    next: StepId | None = None


class AbSplitStep(StepBase):
    """Arms by weight; the arm is a hash of (journey, step, contact): the same every time (domain/journeys/
    assignment.py)."""

    type: Literal["ab_split"] = "ab_split"
    arms: list[Arm] = Field(min_length=2, max_length=MAX_ARMS)

    @model_validator(mode="after")
    def _unique_arms(self) -> AbSplitStep:
        ids = [arm.id for arm in self.arms]
        duplicated = sorted({arm for arm in ids if ids.count(arm) > 1})
        if duplicated:
            raise ValueError(f"arm ids must be unique: {', '.join(duplicated)} is used twice")
        return self

    def successors(self) -> dict[str, str]:
        return {f"arms[{i}]": arm.next for i, arm in enumerate(self.arms) if arm.next is not None}


class HoldoutStep(StepBase):
    """`percent` of the journey's contacts (by hash) become the holdout: they go on through the journey, and every
    send step skips for them (JourneyState.holdout), so their conversions compare with the others'."""

    type: Literal["holdout"] = "holdout"
    percent: Annotated[float, Field(gt=0, lt=100, allow_inf_nan=False)]
    next: StepId | None = None

    def successors(self) -> dict[str, str]:
        return {"next": self.next} if self.next is not None else {}


class GoalStep(StepBase):
    """Reaching it is a conversion: the run ends there (status converted), as when a definition goal is met."""

    type: Literal["goal"] = "goal"
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]

    @model_validator(mode="before")
    @classmethod
    def _ends(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("next") is not None:
            raise ValueError("a goal step ends the run as a conversion: it takes no next")
        if isinstance(data, dict) and "next" in data:
            data = {k: v for k, v in data.items() if k != "next"}
        return data


class ExitStep(StepBase):
    """The run ends there as an exit (status exited), with the reason the designer wrote."""

    type: Literal["exit"] = "exit"
    reason: Text
