"""Control of running journeys on the time-skipping server: a migration onto another version (mapped nodes move,
unmapped ones exit or stay), a whole-version exit, and pause/resume holding sends while waits run.

The batch operation that delivers the control signal to every contact is the dev server's (the time-skipping
server does not implement batch operations): tests/e2e/test_journey_control_e2e.py. Here each run gets the signal
itself, which is what the batch does to each of them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.journeys.contracts import LOAD_JOURNEY_VERSION, LoadJourneyVersionInput, LoadJourneyVersionOutput
from domain.journeys.definition import JourneyDefinition, validate_definition
from domain.journeys.runtime import CONTROL_SIGNAL, JourneyControl, JourneyResult, JourneyState
from tests.workflows.conftest import JourneyHarness
from workflows.journey import JourneyWorkflow
from workflows.search_attributes import SA_STEP, SA_VERSION

Handle = WorkflowHandle[JourneyWorkflow, JourneyResult]


def send(step_id: str, next_step: str | None = None) -> dict[str, Any]:
    return {"id": step_id, "type": "send_email", "subject": step_id, "text": "hi", "next": next_step}


def wait(step_id: str, duration: str, next_step: str | None) -> dict[str, Any]:
    return {"id": step_id, "type": "wait", "duration": duration, "next": next_step}


def journey(start: str, *steps: dict[str, Any]) -> dict[str, Any]:
    return {"trigger": {"event": "signed_up"}, "start": start, "steps": list(steps)}


V1 = journey("welcome", send("welcome", "w1"), wait("w1", "P3D", "old_followup"), send("old_followup"))
V2 = journey("hello", send("hello", "w2"), wait("w2", "P1D", "new_followup"), send("new_followup"))


@dataclass
class VersionedHarness(JourneyHarness):
    """Loads each version by its number, as the real activity does (a migrated run loads its new version)."""

    versions: dict[int, JourneyDefinition] = field(default_factory=dict)

    @activity.defn(name=LOAD_JOURNEY_VERSION)
    async def load_version(self, request: LoadJourneyVersionInput) -> LoadJourneyVersionOutput:
        self.loads.append(request)
        if request.version not in self.versions:
            raise ApplicationError(f"no version {request.version}", non_retryable=True)
        return LoadJourneyVersionOutput(definition=self.versions[request.version])


@pytest.fixture
async def versioned(env: WorkflowEnvironment) -> AsyncIterator[VersionedHarness]:
    harness = VersionedHarness(env, versions={1: validate_definition(V1), 2: validate_definition(V2)})
    async with harness.worker():
        yield harness


async def start_v1(harness: VersionedHarness) -> Handle:
    journey_input = harness.journey_input().model_copy(update={"version": 1})
    return await harness.start(V1, journey_input)


async def state_when(handle: Handle, predicate: Callable[[JourneyState], bool]) -> JourneyState:
    state = await handle.query(JourneyWorkflow.query_state)
    for _ in range(600):
        if predicate(state):
            return state
        await asyncio.sleep(0.05)
        state = await handle.query(JourneyWorkflow.query_state)
    raise AssertionError(f"journey state never matched; last: {state}")


def at(step_id: str) -> Callable[[JourneyState], bool]:
    return lambda state: state.current_step == step_id and state.wait_until is not None


async def test_a_mapped_node_moves_its_contact_onto_the_new_version(versioned: VersionedHarness) -> None:
    handle = await start_v1(versioned)
    await state_when(handle, at("w1"))

    await handle.signal(CONTROL_SIGNAL, JourneyControl(action="migrate", version=2, node_map={"w1": "w2"}))
    result = await handle.result()

    assert result.status == "completed"
    assert result.last_step == "new_followup"
    assert versioned.sent_steps == ["welcome", "new_followup"]  # v1's follow-up never sent, v2's start not re-run
    assert [load.version for load in versioned.loads] == [1, 2]  # the migrated run loads its new version
    state = await handle.query(JourneyWorkflow.query_state)
    assert state.version == 2
    assert [(r.step_id, r.outcome) for r in state.history] == [
        ("welcome", "sent"),
        ("w1", "migrate"),
        ("w2", "waited"),
        ("new_followup", "sent"),
    ]
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(SA_VERSION) == 2
    assert attributes.get(SA_STEP) == "new_followup"


async def test_an_unmapped_node_exits_its_contacts_by_default(versioned: VersionedHarness) -> None:
    handle = await start_v1(versioned)
    await state_when(handle, at("w1"))

    await handle.signal(CONTROL_SIGNAL, JourneyControl(action="migrate", version=2, node_map={"welcome": "hello"}))
    result = await handle.result()

    assert result.status == "exited"
    assert result.exit is not None
    assert result.exit.kind == "exit"
    assert "has no place" in result.exit.reason
    assert versioned.sent_steps == ["welcome"]


async def test_an_unmapped_node_with_stay_keeps_its_contacts_on_their_version(versioned: VersionedHarness) -> None:
    handle = await start_v1(versioned)
    await state_when(handle, at("w1"))

    control = JourneyControl(action="migrate", version=2, node_map={"welcome": "hello"}, unmapped="stay")
    await handle.signal(CONTROL_SIGNAL, control)
    result = await handle.result()

    assert result == JourneyResult(status="completed", last_step="old_followup", steps_run=3)
    assert versioned.sent_steps == ["welcome", "old_followup"]
    assert (await handle.describe()).typed_search_attributes.get(SA_VERSION) == 1


async def test_a_migration_to_the_run_s_own_version_changes_nothing(versioned: VersionedHarness) -> None:
    handle = await start_v1(versioned)
    await state_when(handle, at("w1"))

    await handle.signal(CONTROL_SIGNAL, JourneyControl(action="migrate", version=1, node_map={}))
    result = await handle.result()

    assert result.status == "completed"
    assert versioned.sent_steps == ["welcome", "old_followup"]


async def test_stop_exits_a_contact_in_the_middle_of_its_wait(versioned: VersionedHarness) -> None:
    handle = await start_v1(versioned)
    await state_when(handle, at("w1"))

    await handle.signal(CONTROL_SIGNAL, JourneyControl(action="stop", reason="exited: version 1 retired"))
    result = await handle.result()

    assert result.status == "exited"
    assert result.exit is not None
    assert result.exit.kind == "stop"
    assert result.exit.reason == "exited: version 1 retired"
    assert versioned.sent_steps == ["welcome"]
    [record] = [r for r in (await handle.query(JourneyWorkflow.query_state)).history if r.step_id == "w1"]
    assert record.finished_at is not None
    assert record.finished_at - record.entered_at < timedelta(days=3)


async def test_a_paused_journey_holds_sends_while_its_wait_runs_and_resume_releases_them(
    versioned: VersionedHarness,
) -> None:
    handle = await start_v1(versioned)
    await state_when(handle, at("w1"))

    await handle.signal(CONTROL_SIGNAL, JourneyControl(action="pause"))
    await versioned.env.sleep(timedelta(days=3, minutes=1))  # the wait runs out while paused
    held = await state_when(handle, lambda s: s.current_step == "old_followup")
    assert held.paused
    assert held.waiting_for == "the journey to be resumed"
    assert versioned.sent_steps == ["welcome"]

    await handle.signal(CONTROL_SIGNAL, JourneyControl(action="resume"))
    result = await handle.result()

    assert result.status == "completed"
    assert versioned.sent_steps == ["welcome", "old_followup"]


async def test_a_contact_entering_a_paused_journey_starts_with_its_sends_held(versioned: VersionedHarness) -> None:
    journey_input = versioned.journey_input().model_copy(update={"version": 1, "paused": True})
    handle = await versioned.start(V1, journey_input)

    held = await state_when(handle, lambda s: s.waiting_for == "the journey to be resumed")
    assert held.current_step == "welcome"
    assert versioned.sent_steps == []

    await handle.signal(CONTROL_SIGNAL, JourneyControl(action="resume"))
    assert (await handle.result()).status == "completed"
    assert versioned.sent_steps == ["welcome", "old_followup"]
