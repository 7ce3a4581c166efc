"""The merge workflow on the time-skipping server, its activities faked under their real names: a merge moves the
rows, then the journeys (only when some are to be handed over or exited), retrying a failed attempt; an unmerge
moves the rows back and touches no journey."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from temporalio import activity
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.identity.contracts import (
    MERGE_ROWS,
    MERGE_WORKFLOW,
    MOVE_JOURNEYS,
    UNMERGE_ROWS,
    JourneysMoved,
    MergeInput,
    MergeResult,
)
from workflows.contact_merge import ContactMergeWorkflow
from workflows.runner import workflow_runner


class Fakes:
    def __init__(self, hand_over: list[str], fail_first: bool = False) -> None:
        self.hand_over = hand_over
        self.fail_first = fail_first
        self.calls: list[str] = []

    def result(self, request: MergeInput, status: str) -> MergeResult:
        return MergeResult(merge_id=request.merge_id, status=status, workspace_id="ws1", merged_id="ct2",
                           survivor_id="ct1", policy="hand_over", hand_over=self.hand_over)  # fmt: skip

    @activity.defn(name=MERGE_ROWS)
    async def merge_rows(self, request: MergeInput) -> MergeResult:
        self.calls.append(MERGE_ROWS)
        if self.fail_first and self.calls.count(MERGE_ROWS) == 1:
            raise RuntimeError("the database went away")
        return self.result(request, "completed")

    @activity.defn(name=UNMERGE_ROWS)
    async def unmerge_rows(self, request: MergeInput) -> MergeResult:
        self.calls.append(UNMERGE_ROWS)
        return self.result(request, "undone").model_copy(update={"hand_over": []})

    @activity.defn(name=MOVE_JOURNEYS)
    async def move_journeys(self, result: MergeResult) -> JourneysMoved:
        self.calls.append(MOVE_JOURNEYS)
        return JourneysMoved(handed_over=len(result.hand_over), stopped=len(result.hand_over))


HISTORIES = Path(__file__).parents[1] / "replay" / "histories"


async def run(env: WorkflowEnvironment, fakes: Fakes, request: MergeInput, record_as: str = "") -> MergeResult:
    """Runs the workflow, replays its history against the code, and records it with MAUNTIC_RECORD_HISTORIES=1."""
    queue = f"merge-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client, task_queue=queue, workflows=[ContactMergeWorkflow],
        activities=[fakes.merge_rows, fakes.unmerge_rows, fakes.move_journeys], workflow_runner=workflow_runner(),
    ):  # fmt: skip
        handle = await env.client.start_workflow(
            MERGE_WORKFLOW, request, id=f"contact-merge:ws1:{uuid.uuid4().hex}", task_queue=queue,
            result_type=MergeResult,
        )  # fmt: skip
        result: MergeResult = await handle.result()
    history = await handle.fetch_history()
    replayer = Replayer(
        workflows=[ContactMergeWorkflow], workflow_runner=workflow_runner(), data_converter=pydantic_data_converter
    )
    await replayer.replay_workflow(history)
    if record_as and os.environ.get("MAUNTIC_RECORD_HISTORIES") == "1":
        (HISTORIES / f"{record_as}.json").write_text(history.to_json())
    return result


async def test_a_merge_moves_rows_then_journeys_retrying_a_failed_attempt(env: WorkflowEnvironment) -> None:
    fakes = Fakes(["jr1"], fail_first=True)
    result = await run(env, fakes, MergeInput(merge_id="mg1"), "contact_merge_v1_hand_over")
    assert result.status == "completed"
    assert fakes.calls == [MERGE_ROWS, MERGE_ROWS, MOVE_JOURNEYS]


async def test_a_merge_without_running_journeys_moves_only_rows(env: WorkflowEnvironment) -> None:
    fakes = Fakes([])
    await run(env, fakes, MergeInput(merge_id="mg2"))
    assert fakes.calls == [MERGE_ROWS]


async def test_an_unmerge_touches_no_journey(env: WorkflowEnvironment) -> None:
    fakes = Fakes(["jr1"])
    result = await run(env, fakes, MergeInput(merge_id="mg3", action="unmerge"), "contact_merge_v1_unmerge")
    assert result.status == "undone"
    assert fakes.calls == [UNMERGE_ROWS]
