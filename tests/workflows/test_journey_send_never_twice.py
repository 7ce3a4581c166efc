"""Never twice across the two send paths, with the real send activity, database and SMTP server: a local first
attempt cut off while the relay has the message leaves its row `sending`, and the regular fallback records it
`uncertain` instead of sending it again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import workflows.steps.send_email
from activities.delivery.smtp import SmtpProvider
from domain.journeys.definition import validate_definition
from domain.journeys.runtime import JourneyInput, JourneyResult, journey_workflow_id
from store.workspaces import NewWorkspace
from tests.activities.test_journey_email import activities_for, definition, logs, seed
from tests.servers import SmtpSink
from tests.workflows.conftest import JourneyHarness
from workflows.journey import JourneyWorkflow
from workflows.runner import workflow_runner
from workflows.search_attributes import initial_search_attributes


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


async def test_a_local_attempt_cut_off_mid_send_is_not_sent_again_by_the_fallback(
    env: WorkflowEnvironment,
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    workspace: NewWorkspace,
    smtp: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    request = await seed(sessions, workspace.workspace.id, "ada@example.test")
    email = activities_for(database_url, sessions, http, smtp.port)
    data = SmtpProvider._data
    at_data = asyncio.Event()
    calls = 0

    async def hangs_first(self: SmtpProvider, client: Any, raw: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:  # the relay has the envelope; the local attempt's timeout cuts the attempt off here
            at_data.set()
            await asyncio.Event().wait()
        await data(self, client, raw)

    monkeypatch.setattr(SmtpProvider, "_data", hangs_first)
    monkeypatch.setattr(workflows.steps.send_email, "SEND_LOCAL_TIMEOUT", timedelta(seconds=2))
    harness = JourneyHarness(env, definition=validate_definition(definition()))
    journey = JourneyInput(
        workspace_id=request.workspace_id,
        journey_id=request.journey_id,
        version=request.version,
        contact_id=request.contact_id,
        trigger_event_id="evt-trigger",
        definition=harness.definition,
    )
    worker = Worker(
        env.client,
        task_queue=harness.task_queue,
        workflows=[JourneyWorkflow],
        workflow_runner=workflow_runner(),
        activities=[
            harness.load_version,
            email.send_journey_email,
            harness.record_dead_letter,
            harness.check_send_gate,
        ],
    )
    async with worker:
        workflow_id = journey_workflow_id(journey.workspace_id, journey.journey_id, journey.contact_id)
        assert request.idempotency_key == f"{workflow_id}:hello"
        result: JourneyResult = await env.client.execute_workflow(
            JourneyWorkflow.run,
            journey,
            id=workflow_id,
            task_queue=harness.task_queue,
            search_attributes=initial_search_attributes(journey),
        )

    assert at_data.is_set()
    assert calls == 1, "the fallback must not reach a provider again"
    assert result.status == "completed"
    assert smtp.messages == []
    [log] = await logs(sessions, request.contact_id)
    assert log.status == "uncertain"
