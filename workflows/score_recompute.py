"""The batch score recompute, and the scheduled workflows of scoring.

`ScoreRecompute` (one per workspace, id `score-recompute:{workspace}`) rebuilds every score of the workspace from
the event log under the current rules, in chunks of contacts, all at one reference time (the start of the run,
so every chunk decays to the same hour). Its state is where it stands: the last contact done and counters,
visible through the `progress` query and the memo in the Temporal UI, carried across continue-as-new. The chunks
run in an activity that heartbeats after each; a worker killed mid-run costs the chunk under way: the retried
activity resumes from its last heartbeat, and a restarted workflow from its last completed activity. Only the
contacts whose score crossed a threshold are signalled (score_crossed outbox rows, written by the chunk).

`ScoreRecomputeAll` is what the daily Schedule starts: a recompute per workspace that has rules, one after the
other (child workflows, so each shows its own progress). `ScoreAlertExpiry` (every few minutes) closes expired
alerts.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.scoring.contracts import (
        EXPIRE_ALERTS,
        RECOMPUTE_CHUNKS,
        SCORED_WORKSPACES,
        ExpireAlertsActivityInput,
        ExpireAlertsActivityOutput,
        RecomputeChunksInput,
        RecomputeChunksOutput,
        ScoredWorkspacesInput,
        ScoredWorkspacesOutput,
    )
    from domain.scoring.runtime import (
        EXPIRE_ALERTS_WORKFLOW,
        PROGRESS_QUERY,
        RECOMPUTE_ALL_WORKFLOW,
        RECOMPUTE_WORKFLOW,
        ExpireAlertsInput,
        ExpireAlertsResult,
        RecomputeAllInput,
        RecomputeAllResult,
        RecomputeInput,
        RecomputeProgress,
        recompute_workflow_id,
    )

CHUNK_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
SHORT_RETRY = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=30))


@workflow.defn(name=RECOMPUTE_WORKFLOW)
class ScoreRecompute:
    @workflow.init
    def __init__(self, request: RecomputeInput) -> None:
        self._progress = RecomputeProgress(
            workspace_id=request.workspace_id,
            reference=request.reference,
            after=request.after,
            contacts=request.contacts,
            chunks=request.chunks,
            crossings=request.crossings,
        )

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> RecomputeProgress:
        return self._progress

    @workflow.run
    async def run(self, request: RecomputeInput) -> RecomputeProgress:
        progress = self._progress
        if progress.reference is None:
            progress.reference = workflow.now()
        while True:
            out: RecomputeChunksOutput = await workflow.execute_activity(
                RECOMPUTE_CHUNKS,
                RecomputeChunksInput(
                    workspace_id=request.workspace_id,
                    after=progress.after,
                    chunk_size=request.chunk_size,
                    max_chunks=request.chunks_per_activity,
                    reference=progress.reference,
                ),
                result_type=RecomputeChunksOutput,
                start_to_close_timeout=timedelta(hours=1),
                heartbeat_timeout=timedelta(seconds=request.heartbeat_timeout_seconds),
                retry_policy=CHUNK_RETRY,
            )
            progress.after = out.after
            progress.contacts += out.contacts
            progress.chunks += out.chunks
            progress.crossings += out.crossings
            progress.done = out.done
            if out.resumed_after_chunks is not None:
                progress.resumed_after_chunks.append(out.resumed_after_chunks)
            workflow.upsert_memo({"contacts": progress.contacts, "chunks": progress.chunks, "after": progress.after})
            if out.done:
                return progress
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(
                    request.model_copy(
                        update={
                            "after": progress.after,
                            "reference": progress.reference,
                            "contacts": progress.contacts,
                            "chunks": progress.chunks,
                            "crossings": progress.crossings,
                        }
                    )
                )


@workflow.defn(name=RECOMPUTE_ALL_WORKFLOW)
class ScoreRecomputeAll:
    @workflow.run
    async def run(self, request: RecomputeAllInput) -> RecomputeAllResult:
        found: ScoredWorkspacesOutput = await workflow.execute_activity(
            SCORED_WORKSPACES,
            ScoredWorkspacesInput(),
            result_type=ScoredWorkspacesOutput,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=SHORT_RETRY,
        )
        for workspace_id in found.workspace_ids:
            await workflow.execute_child_workflow(
                RECOMPUTE_WORKFLOW,
                RecomputeInput(workspace_id=workspace_id, chunk_size=request.chunk_size),
                id=f"{recompute_workflow_id(workspace_id)}:scheduled:{workflow.now().isoformat()}",
                result_type=RecomputeProgress,
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        return RecomputeAllResult(workspaces=len(found.workspace_ids))


@workflow.defn(name=EXPIRE_ALERTS_WORKFLOW)
class ScoreAlertExpiry:
    @workflow.run
    async def run(self, _: ExpireAlertsInput) -> ExpireAlertsResult:
        out: ExpireAlertsActivityOutput = await workflow.execute_activity(
            EXPIRE_ALERTS,
            ExpireAlertsActivityInput(now=workflow.now()),
            result_type=ExpireAlertsActivityOutput,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=SHORT_RETRY,
        )
        return ExpireAlertsResult(closed=out.closed)


WORKFLOWS = [ScoreRecompute, ScoreRecomputeAll, ScoreAlertExpiry]
