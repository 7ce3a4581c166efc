"""Where a contact is in a journey, told truthfully: answered by the workflow's `state` query when it can answer,
and otherwise by what Temporal knows of the execution.

- The execution answers: its state (for a failed journey, `status: failed` and the reason).
- It exists but cannot answer (its workflow task fails on every attempt: a bug, a non-determinism, a payload
  over Temporal's limits): 409 `journey_stuck`, with the last workflow-task failure as the reason, once the task
  has failed STUCK_AFTER_ATTEMPTS times in a row. One failure is not enough: a cold worker's first task can time
  out once (TMPRL1101, seen in CI) and heal on the next attempt; meanwhile the answer is 503
  `journey_query_failed`, to be retried.
- It has closed without answering (terminated, timed out, failed in a way the query cannot replay): its state
  as `failed`, with the reason Temporal recorded.
- Temporal itself cannot be reached: 503 `temporal_unavailable`, and only then.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from api.errors import Conflict, NotFound, Unavailable
from api.field_policies.current import request_policy
from domain.access.journey_views import redact_state
from domain.journeys.runtime import STATE_QUERY, JourneyState
from store.models import JourneyEnrollment

QUERY_TIMEOUT = timedelta(seconds=5)  # a healthy journey answers in milliseconds; past this, 503 to retry
DESCRIBE_TIMEOUT = timedelta(seconds=5)
STUCK_AFTER_ATTEMPTS = 3
_MAX_EVENTS_READ = 5_000  # a stuck execution's history is short: it cannot make progress


def _not_found() -> NotFound:
    return NotFound("the journey has no workflow for this contact", code="journey_run_not_found")


async def contact_state(client: Client, enrollment: JourneyEnrollment) -> JourneyState:
    """The run's state as the request's role may read it (the field policy applied to the values it records)."""
    return redact_state(request_policy(), await _contact_state(client, enrollment))


async def _contact_state(client: Client, enrollment: JourneyEnrollment) -> JourneyState:
    handle = client.get_workflow_handle(enrollment.workflow_id)
    description = await _describe(handle)
    if _task_attempt(description) > 1:  # its workflow task failed: a query now would only wait out its timeout
        await _cannot_answer(handle, enrollment, description, "its workflow task failed and is being retried")
    try:
        state: JourneyState = await handle.query(STATE_QUERY, result_type=JourneyState, rpc_timeout=QUERY_TIMEOUT)
        return state
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise _not_found() from exc
        unanswered = exc.message
    except WorkflowQueryFailedError as exc:
        unanswered = str(exc)
    description = await _describe(handle)
    await _cannot_answer(handle, enrollment, description, unanswered)
    return await _closed(handle, enrollment, description, unanswered)


async def _cannot_answer(
    handle: WorkflowHandle[Any, Any], enrollment: JourneyEnrollment, description: WorkflowExecutionDescription, why: str
) -> None:
    """A running execution that cannot answer: 409 once its task failed STUCK_AFTER_ATTEMPTS times, else 503."""
    if description.status != WorkflowExecutionStatus.RUNNING:
        return
    attempt = _task_attempt(description)
    reason = await _reason(handle, why) if attempt > 1 else why  # a task failing now: its failure says why
    if attempt >= STUCK_AFTER_ATTEMPTS:
        raise Conflict(
            f"the journey's execution exists but cannot answer: {reason}",
            code="journey_stuck",
            details={
                "workflow_id": enrollment.workflow_id,
                "reason": reason,
                "workflow_task_attempt": attempt,
            },
        )
    raise Unavailable(f"the journey could not answer just now: {reason}", code="journey_query_failed")


async def _describe(handle: WorkflowHandle[Any, Any]) -> WorkflowExecutionDescription:
    try:
        return await handle.describe(rpc_timeout=DESCRIBE_TIMEOUT)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise _not_found() from exc
        raise Unavailable(f"the journey state could not be read: {exc.message}", code="temporal_unavailable") from exc


def _task_attempt(description: WorkflowExecutionDescription) -> int:
    raw = description.raw_description
    return raw.pending_workflow_task.attempt if raw.HasField("pending_workflow_task") else 0


async def _reason(handle: WorkflowHandle[Any, Any], fallback: str) -> str:
    try:
        return await _last_failure(handle) or fallback
    except RPCError:
        return fallback


async def _closed(
    handle: WorkflowHandle[Any, Any], enrollment: JourneyEnrollment, description: WorkflowExecutionDescription, why: str
) -> JourneyState:
    """A closed execution the query could not replay: what Temporal recorded of how it ended."""
    completed = description.status == WorkflowExecutionStatus.COMPLETED
    status = description.status.name.lower() if description.status else "closed"
    return JourneyState(
        workspace_id=enrollment.workspace_id,
        journey_id=enrollment.journey_id,
        version=enrollment.version,
        contact_id=enrollment.contact_id,
        status="completed" if completed else "failed",
        error=None if completed else f"{status}: {await _reason(handle, why)}",
    )


def _failure_of(event: HistoryEvent) -> str | None:
    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
        failure = event.workflow_task_failed_event_attributes.failure
    elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        failure = event.workflow_execution_failed_event_attributes.failure
    elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
        return event.workflow_execution_terminated_event_attributes.reason or "terminated"
    elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
        return "the execution timed out"
    else:
        return None
    parts = [failure.message]
    while failure.HasField("cause") and len(parts) < 5:
        failure = failure.cause
        parts.append(failure.message)
    return ": ".join(part for part in parts if part)


async def _last_failure(handle: WorkflowHandle[Any, Any]) -> str | None:
    """The last failure the execution's history records (a failed workflow task, or how it closed)."""
    last: str | None = None
    read = 0
    async for event in handle.fetch_history_events(rpc_timeout=DESCRIBE_TIMEOUT):
        last = _failure_of(event) or last
        read += 1
        if read >= _MAX_EVENTS_READ:
            break
    return last
