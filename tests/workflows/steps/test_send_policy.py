"""Send policies in running journeys (time-skipping server, the real gate activity on the real database): two
journeys racing for one contact with a cap of one send once, the other skipping or deferring by its on_capped; a
send due in quiet hours goes when they end; holdout and transactional sends never meet the gate."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.journeys.send_gate import SendGateActivities
from domain.journeys.definition import validate_definition
from domain.journeys.runtime import JourneyResult, JourneyResume, JourneyState, journey_workflow_id
from store.db import create_async_db_engine, session_factory
from store.workspaces import NewWorkspace
from tests.workflows.conftest import JourneyHarness
from workflows.journey import JourneyWorkflow
from workflows.search_attributes import initial_search_attributes

Handle = WorkflowHandle[JourneyWorkflow, JourneyResult]


@pytest.fixture
async def gated(
    env: WorkflowEnvironment, database_url: str, workspace: NewWorkspace
) -> AsyncIterator[tuple[JourneyHarness, str]]:
    engine = create_async_db_engine(database_url)
    sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
    harness = JourneyHarness(env, gate=SendGateActivities(sessions).check_send_gate)
    try:
        async with harness.worker():
            yield harness, workspace.workspace.id
    finally:
        await engine.dispose()


def promo(send_policy: dict[str, Any], step: dict[str, Any] | None = None) -> dict[str, Any]:
    send = step or {"id": "offer", "type": "send_email", "subject": "Sale", "text": "50% off"}
    return {"trigger": {"event": "Browsed"}, "start": send["id"], "send_policy": send_policy,
            "steps": [{**send, "next": "done"}, {"id": "done", "type": "end"}]}  # fmt: skip


async def start(harness: JourneyHarness, workspace_id: str, journey_id: str, contact_id: str, raw: dict[str, Any],
                **extra: Any) -> Handle:  # fmt: skip
    definition = validate_definition(raw)
    journey = harness.journey_input(definition=definition, **extra).model_copy(
        update={"workspace_id": workspace_id, "journey_id": journey_id, "contact_id": contact_id}
    )
    return await harness.env.client.start_workflow(
        JourneyWorkflow.run,
        journey,
        id=journey_workflow_id(workspace_id, journey_id, contact_id),
        task_queue=harness.task_queue,
        search_attributes=initial_search_attributes(journey),
    )


async def record_of(handle: Handle) -> Any:
    state: JourneyState = await handle.query(JourneyWorkflow.query_state)
    return state.history[0]


ONE_A_DAY = [{"channel": "email", "limit": 1, "window": "P1D"}]


async def test_two_journeys_racing_for_a_contact_with_a_cap_of_one_send_once_and_the_other_skips(
    gated: tuple[JourneyHarness, str],
) -> None:
    harness, ws = gated
    contact = f"ct-{uuid.uuid4().hex[:8]}"
    raw = promo({"caps": ONE_A_DAY, "on_capped": "skip"})
    handles = await asyncio.gather(*(start(harness, ws, name, contact, raw) for name in ("spring", "summer")))
    results = [await handle.result() for handle in handles]  # one result poll at a time (time-skipping)

    assert [result.status for result in results] == ["completed", "completed"]
    assert len(harness.sent) == 1, "one email for the contact across both journeys"
    records = [await record_of(handle) for handle in handles]
    assert sorted(record.outcome for record in records) == ["capped", "sent"]
    capped = next(record for record in records if record.outcome == "capped")
    assert capped.detail["rule"] == "caps[0]"
    assert capped.detail["count"] == 1
    assert capped.detail["window"] == "P1D"
    assert "caps[0]" in (capped.reason or "")


async def test_a_deferring_journey_sends_once_the_window_frees(gated: tuple[JourneyHarness, str]) -> None:
    harness, ws = gated
    contact = f"ct-{uuid.uuid4().hex[:8]}"
    raw = promo({"caps": ONE_A_DAY, "on_capped": "defer"})
    handles = await asyncio.gather(*(start(harness, ws, name, contact, raw) for name in ("spring", "summer")))
    for handle in handles:
        await handle.result()

    assert len(harness.sent) == 2
    records = [await record_of(handle) for handle in handles]
    assert [record.outcome for record in records] == ["sent", "sent"]
    held = [record for record in records if record.detail.get("policy")]
    assert len(held) == 1, (records, harness.gate_calls)
    [deferred] = held
    [decision] = deferred.detail["policy"]
    assert (decision["decision"], decision["rule"], decision["count"]) == ("deferred", "caps[0]", 1)
    first = next(record for record in records if record is not deferred)
    assert deferred.finished_at - first.entered_at >= timedelta(days=1), "held until the 1-day window freed"
    assert deferred.finished_at - first.entered_at < timedelta(days=1, minutes=1)


async def test_a_send_due_in_quiet_hours_goes_when_they_end(gated: tuple[JourneyHarness, str]) -> None:
    harness, ws = gated
    now = await harness.env.get_current_time()  # the workspace has no zone and the contact no row: UTC
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=2)).strftime("%H:%M")}
    handle = await start(harness, ws, "night", f"ct-{uuid.uuid4().hex[:8]}", promo({"quiet_hours": quiet}))
    await handle.result()

    record = await record_of(handle)
    assert record.outcome == "sent"
    [decision] = record.detail["policy"]
    assert decision["decision"] == "quiet"
    assert decision["rule"] == "quiet_hours"
    assert record.finished_at.strftime("%H:%M") == quiet["end"]
    assert timedelta(hours=1) < record.finished_at - record.entered_at <= timedelta(hours=2)


async def test_a_transactional_send_and_a_holdout_contact_never_meet_the_gate(
    gated: tuple[JourneyHarness, str],
) -> None:
    harness, ws = gated
    contact = f"ct-{uuid.uuid4().hex[:8]}"
    sms = {"id": "code", "type": "send_sms", "body": "Your code", "transactional": True}
    await (await start(harness, ws, "otp", contact, promo({"caps": [], "on_capped": "skip"}, sms))).result()
    push = {"id": "nudge", "type": "send_push", "title": "Come back"}
    held_out = await start(harness, ws, "winback", contact, promo({}, push), resume=JourneyResume(step_id="nudge",
                           holdout=True))  # fmt: skip
    await held_out.result()

    assert harness.gate_calls == []
    assert harness.sent_steps == ["code"]
    assert (await record_of(held_out)).outcome == "holdout"
