"""Starting the ContactMerge workflow a merge row needs: shared by the API (explicit merges, a start lost to a
crash) and the dispatcher (automatic merges from ingestion, dispatch/merges.py).

The workflow id is deterministic (`contact-merge:{ws}:{merge}`), so a start repeated while it runs is refused by
Temporal and ignored here; the activities act on the row's status, so a merge is applied once however often it
is started."""

from __future__ import annotations

from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.identity.contracts import MERGE_WORKFLOW, MergeInput, MergeResult, unmerge_workflow_id
from mauntic.temporal import TemporalGateway
from store.merges import ACTIVE
from store.models_identity import ContactMerge


async def ensure_started(temporal: TemporalGateway, merge: ContactMerge) -> bool:
    """Starts the workflow a running merge (or undoing unmerge) needs, unless it was started already; True when
    this call started it."""
    if merge.status not in ACTIVE:
        return False
    action = "merge" if merge.status == "running" else "unmerge"
    workflow_id = merge.workflow_id if action == "merge" else unmerge_workflow_id(merge.workspace_id, merge.id)
    client = await temporal.client()
    try:
        await client.start_workflow(
            MERGE_WORKFLOW,
            MergeInput(merge_id=merge.id, action=action),
            id=workflow_id,
            task_queue=temporal.task_queue,
            result_type=MergeResult,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True
