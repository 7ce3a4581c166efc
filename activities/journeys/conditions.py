"""The condition split's activity: read what the split's conditions name about the contact (store/split_facts.py),
decide the branch (domain/journeys/steps/split_conditions.py), answer with both. A read only: retrying it is
harmless, and the workflow records the answer, so a replay takes the same branch."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.journeys.contracts import EVALUATE_SPLIT, EvaluateSplitInput, EvaluateSplitOutput
from domain.journeys.steps.split_conditions import decide, needs
from store.split_facts import read_split_facts

# An attribute value shown in the step's record at most this long (as JSON): the record travels in the run's
# state and across continue-as-new; the decision itself saw the whole value.
MAX_SHOWN_VALUE = 500


def _shown(value: Any) -> Any:
    size = len(json.dumps(value, default=str))
    return value if size <= MAX_SHOWN_VALUE else f"({size} bytes of JSON)"


class SplitActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name=EVALUATE_SPLIT)
    async def evaluate_split(self, request: EvaluateSplitInput) -> EvaluateSplitOutput:
        conditions = [branch.condition for branch in request.branches]
        async with self._sessions() as session:
            facts = await read_split_facts(
                session,
                request.workspace_id,
                request.journey_id,
                request.contact_id,
                needs(conditions),
                request.engagement_keys,
                request.at,
            )
        decision = decide(conditions, facts)
        shown = facts.model_copy(update={"attributes": {k: _shown(v) for k, v in facts.attributes.items()}})
        return EvaluateSplitOutput(branch=decision.branch, reason=decision.reason, facts=shown)
