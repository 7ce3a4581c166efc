"""A stand-in journey workflow whose every workflow task fails (as a bug or a non-determinism would make it):
Temporal retries the task forever and the execution stays Running. Its own module: the workflow sandbox
re-imports the module that defines a workflow."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.journeys.runtime import WORKFLOW_NAME, JourneyInput, JourneyResult


@workflow.defn(name=WORKFLOW_NAME)
class JourneyThatCannotRun:
    @workflow.run
    async def run(self, journey: JourneyInput) -> JourneyResult:
        raise RuntimeError("this workflow task fails on every attempt")
