"""What the journey inspection tests share: a dev server and an SMTP sink on fixed loopback ports of their own, a
definition, and executions started straight on Temporal (the journey's worker, or nobody's task queue for runs
that only need their search attributes)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.clock import utcnow
from domain.journeys.definition import validate_definition
from domain.journeys.runtime import WORKFLOW_NAME, JourneyEventSignal, JourneyInput, journey_workflow_id
from store.db import create_async_db_engine, session_factory
from store.journeys import enroll
from store.models import Contact, JourneyEnrollment
from tests.conftest import binary
from tests.servers import SmtpSink, _Handler
from workflows.search_attributes import (
    ALL_SEARCH_ATTRIBUTES,
    SA_HOLDOUT,
    SA_OUTCOME,
    SA_STEP,
    initial_search_attributes,
)

T = TypeVar("T")

DEFINITION: dict[str, Any] = {
    "trigger": {"event": "Signed Up"},
    "start": "hold",
    "steps": [
        {
            "id": "hold",
            "type": "wait_for_event",
            "event": "Activated",
            "timeout": "P3D",
            "on_event": "welcome",
            "on_timeout": "bye",
        },
        {
            "id": "welcome",
            "type": "send_email",
            "subject": "Welcome, {{ contact.first_name }}!",
            "html": "<p>Hi {{ contact.first_name }} from {{ contact.company }}</p>",
            "text": "Plan: {{ contact.plan }} {{ event.name }}",
            "next": "bye",
        },
        {"id": "bye", "type": "end"},
    ],
}


@asynccontextmanager
async def dev_server(port: int) -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal dev server on `port` (gRPC), `port + 1` (HTTP) and `port + 2` (metrics)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=ALL_SEARCH_ATTRIBUTES,
        ui=False,
        port=port,
        dev_server_extra_args=["--http-port", str(port + 1), "--metrics-port", str(port + 2)],
    )
    try:
        yield env
    finally:
        await env.shutdown()


@asynccontextmanager
async def smtp_on(port: int) -> AsyncIterator[SmtpSink]:
    sink = SmtpSink(host="127.0.0.1", port=port)
    controller = Controller(_Handler(sink), hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


async def eventually(read: Callable[[], Awaitable[T]], done: Callable[[T], bool], attempts: int = 200) -> T:
    """`read()` until `done` holds: visibility is eventually consistent."""
    for _ in range(attempts):
        value = await read()
        if done(value):
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"never reached the expected value: {value}")


async def new_contact(database_url: str, workspace_id: str, **fields: Any) -> Contact:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            contact = Contact(id=f"ct_{uuid.uuid4().hex[:12]}", workspace_id=workspace_id, **fields)
            session.add(contact)
            await session.commit()
            return contact
    finally:
        await engine.dispose()


async def enter(
    client: Client, database_url: str, task_queue: str, workspace_id: str, journey_id: str, contact_id: str
) -> str:
    """Enrol the contact and start its journey run on the worker's task queue (version 1 of DEFINITION)."""
    workflow_id = journey_workflow_id(workspace_id, journey_id, contact_id)
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            enrollment = JourneyEnrollment(
                workspace_id=workspace_id,
                journey_id=journey_id,
                contact_id=contact_id,
                version=1,
                workflow_id=workflow_id,
                trigger_event_id=f"ev_{contact_id}",
            )
            await enroll(session, enrollment)
            await session.commit()
    finally:
        await engine.dispose()
    trigger = JourneyEventSignal(event_id=f"ev_{contact_id}", name="Signed Up", timestamp=utcnow())
    journey = JourneyInput(
        workspace_id=workspace_id,
        journey_id=journey_id,
        version=1,
        contact_id=contact_id,
        trigger_event_id=trigger.event_id,
        definition=validate_definition(DEFINITION),
        trigger=trigger,
    )
    await client.start_workflow(
        WORKFLOW_NAME,
        journey,
        id=workflow_id,
        task_queue=task_queue,
        search_attributes=initial_search_attributes(journey),
    )
    return workflow_id


async def parked(
    client: Client,
    workspace_id: str,
    journey_id: str,
    contact_id: str,
    *,
    step: str,
    outcome: str | None = None,
    holdout: bool = False,
) -> None:
    """A run no worker picks up (its task queue has none): only its search attributes matter."""
    journey = JourneyInput(
        workspace_id=workspace_id, journey_id=journey_id, version=1, contact_id=contact_id, trigger_event_id="ev"
    )
    pairs = [*initial_search_attributes(journey), SearchAttributePair(SA_STEP, step)]
    if outcome is not None:
        pairs.append(SearchAttributePair(SA_OUTCOME, outcome))
    if holdout:
        pairs.append(SearchAttributePair(SA_HOLDOUT, True))
    await client.start_workflow(
        WORKFLOW_NAME,
        journey,
        id=f"parked:{journey_id}:{contact_id}",
        task_queue="nobody-polls-this",
        search_attributes=TypedSearchAttributes(pairs),
    )
