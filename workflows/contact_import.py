"""A CSV import (`contact-import:{import_id}`): one long activity that applies the uploaded file in chunks and
heartbeats; a lost worker costs the chunk under way, the retried attempt resumes from the database checkpoint."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.imports.contracts import IMPORT_WORKFLOW, PROCESS_IMPORT, ImportInput, ImportResult

IMPORT_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@workflow.defn(name=IMPORT_WORKFLOW)
class ContactImportWorkflow:
    @workflow.run
    async def run(self, request: ImportInput) -> ImportResult:
        result: ImportResult = await workflow.execute_activity(
            PROCESS_IMPORT,
            request,
            result_type=ImportResult,
            start_to_close_timeout=timedelta(hours=12),
            heartbeat_timeout=timedelta(seconds=request.heartbeat_timeout_seconds),
            retry_policy=IMPORT_RETRY,
        )
        return result
