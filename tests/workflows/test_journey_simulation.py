"""The simulation engine runs the real journey workflow on its own time-skipping server: the timeline and the
send times it reports are the workflow's own, and nothing is sent."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from domain.journeys.definition import validate_definition
from domain.journeys.simulation import UNAVAILABLE, SimulatedContact, SimulatedEvent, SimulationRequest
from mauntic.journey_simulation import JourneySimulator, SimulatedWorld

PORTS = range(7620, 7630)  # this module's servers, in the port range given to it

JOURNEY: dict[str, Any] = {
    "trigger": {"event": "Signed Up"},
    "start": "welcome",
    "steps": [
        {"id": "welcome", "type": "send_email", "subject": "Welcome", "text": "hi", "next": "settle"},
        {"id": "settle", "type": "wait", "duration": "P3D", "next": "activation"},
        {
            "id": "activation",
            "type": "wait_for_event",
            "event": "Activated",
            "timeout": "P2D",
            "on_event": "thanks",
            "on_timeout": "nudge",
        },
        {"id": "thanks", "type": "send_email", "subject": "Thanks", "text": "hi"},
        {"id": "nudge", "type": "send_email", "subject": "Need a hand?", "text": "hi"},
    ],
}


def request(*events: SimulatedEvent, until: timedelta = timedelta(days=30)) -> SimulationRequest:
    return SimulationRequest(
        workspace_id="ws_sim",
        journey_id="jr_sim",
        version=1,
        definition=validate_definition(JOURNEY),
        contact=SimulatedContact(attributes={"first_name": "Ada"}, timezone="Europe/Berlin"),
        events=list(events),
        until=until,
    )


@pytest.fixture(scope="module")
def simulator() -> JourneySimulator:
    engine = JourneySimulator(ports=PORTS)
    if not engine.available:
        pytest.skip("temporal-test-server is not installed")
    return engine


async def test_an_event_inside_the_wait_takes_its_branch_at_the_event_s_time(simulator: JourneySimulator) -> None:
    result = await simulator.run(request(SimulatedEvent(offset=timedelta(days=4), name="Activated")))

    assert result.status == "completed"
    assert result.engine == "time-skipping test server"
    start = result.started_at
    assert [(s.node, s.outcome) for s in result.timeline] == [
        ("welcome", "sent"),
        ("settle", "waited"),
        ("activation", "event"),
        ("thanks", "sent"),
    ]
    entered = {s.node: s.at - start for s in result.timeline}
    assert timedelta(days=3) <= entered["activation"] < timedelta(days=3, minutes=1)
    assert timedelta(days=4) <= entered["thanks"] < timedelta(days=4, minutes=1)
    assert [(send.channel, send.node) for send in result.sends] == [("email", "welcome"), ("email", "thanks")]
    assert result.sends[0].at - start < timedelta(minutes=1)
    assert timedelta(days=4) <= result.sends[1].at - start < timedelta(days=4, minutes=1)
    assert result.ended_at - start < timedelta(days=4, minutes=1)  # the run ended there, not at `until`


async def test_without_the_event_the_timeout_branch_runs_when_the_wait_expires(simulator: JourneySimulator) -> None:
    result = await simulator.run(request(SimulatedEvent(offset=timedelta(days=6), name="Activated")))

    assert [(s.node, s.outcome) for s in result.timeline][-2:] == [("activation", "timeout"), ("nudge", "sent")]
    nudge = next(send for send in result.sends if send.node == "nudge")
    assert timedelta(days=5) <= nudge.at - result.started_at < timedelta(days=5, minutes=1)


async def test_a_simulation_stops_at_until_with_the_contact_still_inside(simulator: JourneySimulator) -> None:
    result = await simulator.run(request(until=timedelta(days=1)))

    assert result.status == "running"
    assert result.ended_at - result.started_at == timedelta(days=1)
    assert [(s.node, s.outcome) for s in result.timeline] == [("welcome", "sent"), ("settle", None)]
    assert [send.node for send in result.sends] == ["welcome"]


async def test_each_simulation_starts_at_the_real_time_of_day(simulator: JourneySimulator) -> None:
    first = await simulator.run(request(until=timedelta(days=30)))
    second = await simulator.run(request(until=timedelta(days=1)))

    assert second.started_at - first.started_at < timedelta(minutes=5)  # not 30 days later: a fresh clock


async def test_without_the_test_server_binary_the_simulation_is_unavailable() -> None:
    with pytest.raises(ApplicationError) as raised:
        await JourneySimulator(binary="/nonexistent/temporal-test-server").run(request())

    assert raised.value.type == UNAVAILABLE


@workflow.defn(name="simulation-test.calls-an-unknown-activity")
class CallsAnUnknownActivity:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_activity(
                "journeys.some_future_activity",
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
        except ActivityError as err:
            return err.cause.type or "" if isinstance(err.cause, ApplicationError) else repr(err.cause)
        return "ran"


async def test_an_activity_without_a_stand_in_is_never_run_and_is_named(env: WorkflowEnvironment) -> None:
    world = SimulatedWorld(request())
    task_queue = f"simulation-test-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[CallsAnUnknownActivity],
        activities=world.activities(),
        workflow_runner=UnsandboxedWorkflowRunner(),  # a test's workflow: this module does not sandbox
    ):
        outcome = await env.client.execute_workflow(
            CallsAnUnknownActivity.run, id=f"unknown-{uuid.uuid4().hex[:8]}", task_queue=task_queue
        )

    assert outcome == "NotSimulated"
    assert world.not_simulated == ["journeys.some_future_activity"]  # once: it does not retry
    assert world.sends == []


EVERY_KIND: dict[str, Any] = {
    "trigger": {"event": "Signed Up"},
    "start": "plan",
    "steps": [
        {"id": "plan", "type": "split", "default": "basic", "branches": [
            {"condition": {"attribute": {"property": "plan", "op": "eq", "value": "pro"}}, "next": "tag"}]},
        {"id": "tag", "type": "update_contact", "set": {"stage": "hot"}, "next": "morning"},
        {"id": "morning", "type": "wait", "until": {"time": "09:00"}, "next": "hot"},
        {"id": "hot", "type": "split", "default": "basic", "branches": [
            {"condition": {"attribute": {"property": "stage", "op": "eq", "value": "hot"}}, "next": "call"}]},
        {"id": "call", "type": "human_task", "kind": "call", "title": "Call", "assignee": "rep@example.com",
         "due": "P1D", "next": "basic"},
        {"id": "basic", "type": "send_email", "subject": "Hi", "text": "hi"},
    ],
}  # fmt: skip


async def test_splits_contact_updates_calendar_waits_and_tasks_are_simulated(simulator: JourneySimulator) -> None:
    simulated = request().model_copy(
        update={
            "definition": validate_definition(EVERY_KIND),
            "contact": SimulatedContact(attributes={"plan": "pro"}, timezone="America/New_York"),
        }
    )
    result = await simulator.run(simulated)

    assert result.status == "completed", result.error
    assert result.not_simulated == []
    assert [(s.node, s.outcome) for s in result.timeline][:2] == [("plan", "branch:0"), ("tag", "updated")]
    nodes = [s.node for s in result.timeline]
    assert nodes == ["plan", "tag", "morning", "hot", "call", "basic"]  # the update is seen by the next split
    morning = next(s for s in result.timeline if s.node == "hot").at
    assert morning.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M") == "09:00"
    assert [(send.channel, send.node) for send in result.sends] == [("email", "basic")]


async def test_quiet_hours_and_caps_shape_the_simulated_send_times(simulator: JourneySimulator) -> None:
    policy = {"caps": [{"channel": "email", "limit": 1, "window": "P1D"}], "on_capped": "defer",
              "quiet_hours": {"start": "00:00", "end": "23:59"}}  # fmt: skip
    two_sends = {
        "trigger": {"event": "Signed Up"}, "start": "one", "send_policy": policy,
        "steps": [{"id": "one", "type": "send_email", "subject": "1", "text": "1", "next": "two"},
                  {"id": "two", "type": "send_email", "subject": "2", "text": "2"}],
    }  # fmt: skip
    simulated = request().model_copy(
        update={"definition": validate_definition(two_sends), "contact": SimulatedContact(timezone="Asia/Tokyo")}
    )
    result = await simulator.run(simulated)

    assert result.status == "completed", result.error
    assert [send.node for send in result.sends] == ["one", "two"]
    tokyo = ZoneInfo("Asia/Tokyo")
    first, second = (send.at.astimezone(tokyo) for send in result.sends)
    assert first.strftime("%H:%M") == "23:59"  # held to the end of the quiet hours, in the contact's zone
    assert second - first >= timedelta(days=1)  # the cap of one a day defers the second send
