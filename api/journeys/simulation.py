"""Asking the worker's simulation engine (mauntic/journey_simulation.py) for a journey's timeline: the API starts
the `journeys.simulate` workflow and waits for its answer; the engine's failures become clean errors."""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

from api.errors import ApiError, Unavailable
from domain.journeys.simulation import (
    SIMULATION_TIMEOUT,
    SIMULATION_WORKFLOW,
    UNAVAILABLE,
    SimulationRequest,
    SimulationResult,
)
from mauntic.temporal import TemporalGateway

# The engine's budget plus the time a worker takes to pick the task up; past it, nothing answered.
WORKFLOW_TIMEOUT = SIMULATION_TIMEOUT + timedelta(seconds=15)


class SimulationTimedOut(ApiError):
    status_code = 504
    code = "simulation_timeout"


async def simulate(temporal: TemporalGateway, request: SimulationRequest) -> SimulationResult:
    try:
        client = await temporal.client()
    except (RuntimeError, OSError) as exc:
        raise Unavailable(f"Temporal cannot be reached: {exc}", code="temporal_unavailable") from exc
    try:
        result: SimulationResult = await client.execute_workflow(
            SIMULATION_WORKFLOW,
            request,
            id=f"simulate:{request.workspace_id}:{request.journey_id}:{uuid.uuid4().hex[:12]}",
            task_queue=temporal.task_queue,
            execution_timeout=WORKFLOW_TIMEOUT,
            result_type=SimulationResult,
        )
    except WorkflowFailureError as exc:
        raise _failure(exc) from exc
    return result


def _failure(exc: WorkflowFailureError) -> ApiError:
    cause: BaseException | None = exc.cause
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    if isinstance(cause, ApplicationError) and cause.type == UNAVAILABLE:
        return Unavailable(f"simulations cannot run here: {cause.message}", code="simulation_unavailable")
    if isinstance(cause, TemporalTimeoutError) or (
        isinstance(cause, ApplicationError) and cause.type == "SimulationTimeout"
    ):
        return SimulationTimedOut(
            "the simulation did not finish in time; simulate less (a shorter until, fewer events)"
        )
    message = cause.message if isinstance(cause, ApplicationError) else str(exc)
    return ApiError(f"the simulation failed: {message}", code="simulation_failed", status_code=500)
