"""The merged contact's running journey executions after a merge: each one exits (reason `merged`), or is handed
over: the survivor's execution of the same journey starts at the step the merged one stands in, with its history
and the same wait deadline (JourneyResume, as a continue-as-new carries it), then the merged one is stopped. It
announces its completion (journey.completed) as a run the dispatcher starts would: when its workspace takes it.

Idempotent under retries: the survivor's start comes first under its deterministic workflow id (REJECT_DUPLICATE,
so a retry finds it started), the stop second (a stopped or finished execution is skipped). A merged execution
that already ended hands nothing over. Its step is read with the journey's `state` query; a run caught between
waits (inside a send) is asked again until it rests at a wait, so nothing it did is done again for the survivor.
"""

from __future__ import annotations

import logging

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.identity.contracts import MERGED_REASON, MOVE_JOURNEYS, JourneysMoved, MergeResult
from domain.journeys.runtime import (
    CONTROL_SIGNAL,
    STATE_QUERY,
    WORKFLOW_NAME,
    JourneyControl,
    JourneyInput,
    JourneyResume,
    JourneyState,
    journey_workflow_id,
)
from domain.outbound_webhooks.events import WebhookEventType
from store.webhook_endpoints import SubscribedTypes
from workflows.search_attributes import initial_search_attributes

log = logging.getLogger(__name__)


# A run inside a step that does not wait (a send in flight) is asked again, one attempt a second or so, until it
# rests: started anew for the survivor there, it could send twice. One that never rests within these attempts (a
# send retried for long) only exits.
HAND_OVER_ATTEMPTS = 20


def _resting(state: JourneyState) -> bool:
    """At a step where the run waits (a timer, an event, a task, a webhook's answer, a pause): resumed at that step
    for the survivor, it does nothing twice."""
    return bool(state.wait_until or state.waiting_for or state.waiting_for_event or state.paused)


def _attempt() -> int:
    return activity.info().attempt if activity.in_activity() else HAND_OVER_ATTEMPTS


class MergeJourneyActivities:
    def __init__(self, client: Client, task_queue: str, subscribed: SubscribedTypes | None = None) -> None:
        self._client = client
        self._task_queue = task_queue
        self._subscribed = subscribed  # None: no workspace takes journey.completed (tests without endpoints)

    async def _announces(self, workspace_id: str) -> bool:
        """As the dispatcher decides at a start (dispatch/journeys.py): the run announces its completion when its
        workspace takes journey.completed."""
        if self._subscribed is None:
            return False
        return await self._subscribed.wants(workspace_id, WebhookEventType.JOURNEY_COMPLETED)

    @activity.defn(name=MOVE_JOURNEYS)
    async def move_journeys(self, result: MergeResult) -> JourneysMoved:
        moved = JourneysMoved()
        for journey_id in result.hand_over:
            state = await self._running_state(result, journey_id)
            if state is None:
                continue
            if state.current_step is not None and _resting(state):
                await self._start_for_survivor(result, journey_id, state)
                moved.handed_over += 1
            elif state.current_step is not None and _attempt() < HAND_OVER_ATTEMPTS:
                raise ApplicationError(f"journey {journey_id} is inside step {state.current_step!r}: retried")
            moved.stopped += await self._stop(result, journey_id)
        for journey_id in result.exit_journeys:
            moved.stopped += await self._stop(result, journey_id)
        return moved

    async def _running_state(self, result: MergeResult, journey_id: str) -> JourneyState | None:
        handle = self._client.get_workflow_handle(journey_workflow_id(result.workspace_id, journey_id,
                                                                      result.merged_id))  # fmt: skip
        try:
            described = await handle.describe()
            if described.status != WorkflowExecutionStatus.RUNNING:
                return None
            state: JourneyState = await handle.query(STATE_QUERY, result_type=JourneyState)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return None
            raise
        return state

    async def _start_for_survivor(self, result: MergeResult, journey_id: str, state: JourneyState) -> None:
        journey = JourneyInput(
            workspace_id=result.workspace_id,
            journey_id=journey_id,
            version=state.version,
            contact_id=result.survivor_id,
            trigger_event_id=f"merge:{result.merge_id}",
            resume=JourneyResume(
                step_id=state.current_step or "",
                history=state.history,
                wait_deadline=state.wait_until,
                paused=state.paused,
                holdout=state.holdout,
            ),
            paused=state.paused,
            send_gate=True,
            announce_completion=await self._announces(result.workspace_id),
        )
        try:
            await self._client.start_workflow(
                WORKFLOW_NAME,
                journey,
                id=journey_workflow_id(result.workspace_id, journey_id, result.survivor_id),
                task_queue=self._task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                search_attributes=initial_search_attributes(journey),
            )
        except WorkflowAlreadyStartedError:
            log.info("journey %s already handed over to %s", journey_id, result.survivor_id)

    async def _stop(self, result: MergeResult, journey_id: str) -> int:
        handle = self._client.get_workflow_handle(journey_workflow_id(result.workspace_id, journey_id,
                                                                      result.merged_id))  # fmt: skip
        try:
            await handle.signal(CONTROL_SIGNAL, JourneyControl(action="stop", reason=MERGED_REASON))
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            return 0  # finished, or never started
        return 1
