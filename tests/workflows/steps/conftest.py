"""A journey harness with fakes of the steps' local activities: the split answers with the real domain decision
over facts a test sets per contact; contact updates and score adjustments are recorded once per idempotency key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment

from activities.journeys.contracts import (
    ADJUST_SCORE,
    EVALUATE_SPLIT,
    UPDATE_CONTACT,
    AdjustScoreInput,
    AdjustScoreOutput,
    EvaluateSplitInput,
    EvaluateSplitOutput,
    UpdateContactInput,
    UpdateContactOutput,
)
from domain.journeys.steps.split_conditions import SplitFacts, decide
from tests.workflows.conftest import JourneyHarness


@dataclass
class StepHarness(JourneyHarness):
    facts: dict[str, SplitFacts] = field(default_factory=dict)  # by contact id; absent: nothing known
    splits: list[EvaluateSplitInput] = field(default_factory=list)
    updates: list[UpdateContactInput] = field(default_factory=list)
    adjustments: list[AdjustScoreInput] = field(default_factory=list)
    applied: set[str] = field(default_factory=set)  # idempotency keys
    fail_first: int = 0  # attempts of update/adjust that fail before one succeeds
    missing_contacts: set[str] = field(default_factory=set)
    scores: dict[tuple[str, str], float] = field(default_factory=dict)  # (contact, group) -> score
    split_failure: BaseException | None = None  # raised by every split evaluation

    @activity.defn(name=EVALUATE_SPLIT)
    async def evaluate_split(self, request: EvaluateSplitInput) -> EvaluateSplitOutput:
        self.splits.append(request)
        if self.split_failure is not None:
            raise self.split_failure
        facts = self.facts.get(request.contact_id, SplitFacts())
        decision = decide([branch.condition for branch in request.branches], facts)
        return EvaluateSplitOutput(branch=decision.branch, reason=decision.reason, facts=facts)

    def _apply(self, key: str, contact_id: str) -> str:
        if self.fail_first > 0:
            self.fail_first -= 1
            raise RuntimeError("database unavailable")
        if contact_id in self.missing_contacts:
            return "contact_missing"
        if key in self.applied:
            return "already_applied"
        self.applied.add(key)
        return "applied"

    @activity.defn(name=UPDATE_CONTACT)
    async def update_contact(self, request: UpdateContactInput) -> UpdateContactOutput:
        self.updates.append(request)
        status = self._apply(request.idempotency_key, request.contact_id)
        if status == "contact_missing":
            return UpdateContactOutput(status="contact_missing")
        changed = {**request.set, **dict.fromkeys(request.unset)}
        return UpdateContactOutput(status="updated" if status == "applied" else "already_applied", changed=changed)

    @activity.defn(name=ADJUST_SCORE)
    async def adjust_score(self, request: AdjustScoreInput) -> AdjustScoreOutput:
        self.adjustments.append(request)
        status = self._apply(request.idempotency_key, request.contact_id)
        if status == "contact_missing":
            return AdjustScoreOutput(status="contact_missing")
        where = (request.contact_id, request.group)
        if status == "applied":
            self.scores[where] = self.scores.get(where, 0.0) + request.delta
        score = self.scores.get(where, 0.0)
        return AdjustScoreOutput(status="applied" if status == "applied" else "already_applied", score=score)

    def extra_activities(self) -> list[Any]:
        return [self.evaluate_split, self.update_contact, self.adjust_score]


@pytest.fixture
async def steps(env: WorkflowEnvironment) -> AsyncIterator[StepHarness]:
    harness = StepHarness(env)
    async with harness.worker():
        yield harness
