"""A journey simulation as the API asks for it: one activity, in the worker, runs the real journey workflow on
its own time-skipping test server (mauntic/journey_simulation.py). A workflow only so that the API, which loads
no worker-side code, can reach the engine through Temporal; no retry: a simulation is deterministic."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.journeys.contracts import SIMULATE_JOURNEY
    from domain.journeys.simulation import SIMULATION_TIMEOUT, SIMULATION_WORKFLOW, SimulationRequest, SimulationResult


@workflow.defn(name=SIMULATION_WORKFLOW)
class JourneySimulation:
    @workflow.run
    async def run(self, request: SimulationRequest) -> SimulationResult:
        result: SimulationResult = await workflow.execute_activity(
            SIMULATE_JOURNEY,
            request,
            result_type=SimulationResult,
            start_to_close_timeout=SIMULATION_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        return result
