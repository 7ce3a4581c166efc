"""A run handed over to the survivor (activities/identity/journeys.py) announces its completion as a run the
dispatcher starts would: when its workspace takes journey.completed (dispatch/journeys.py start_input)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from temporalio.client import Client

from activities.identity.contracts import MergeResult
from activities.identity.journeys import MergeJourneyActivities
from domain.journeys.runtime import JourneyInput, JourneyState
from store.webhook_endpoints import SubscribedTypes


class Taking(SubscribedTypes):
    def __init__(self, types: set[str]) -> None:
        self._types = frozenset(types)

    async def of(self, workspace_id: str) -> frozenset[str]:
        return self._types


class Starts:
    def __init__(self) -> None:
        self.inputs: list[JourneyInput] = []

    async def start_workflow(self, name: str, journey: JourneyInput, **options: Any) -> None:
        self.inputs.append(journey)


RESULT = MergeResult(merge_id="mg_1", status="completed", workspace_id="ws_1", merged_id="ct_m", survivor_id="ct_s",
                     policy="hand_over", hand_over=["jr_1"])  # fmt: skip
STATE = JourneyState(workspace_id="ws_1", journey_id="jr_1", version=1, contact_id="ct_m", status="running",
                     current_step="w", waiting_for="a timer")  # fmt: skip


@pytest.mark.parametrize(
    ("subscribed", "announces"),
    [(Taking({"journey.completed"}), True), (Taking({"journey.entered"}), False), (None, False)],
)
async def test_the_survivors_run_announces_its_completion_when_taken(
    subscribed: SubscribedTypes | None, announces: bool
) -> None:
    client = Starts()
    activities = MergeJourneyActivities(cast(Client, client), "q", subscribed)
    await activities._start_for_survivor(RESULT, "jr_1", STATE)
    [started] = client.inputs
    assert (started.contact_id, started.announce_completion) == ("ct_s", announces)
