"""The task step's activities on a real database: the task is created once per idempotency key with its texts
rendered for the contact, escalation reassigns (or queues a task.escalated event), expiry loses to a completion."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.journeys.versions import JourneyVersions
from activities.tasks.activities import TaskActivities
from activities.tasks.contracts import CancelTaskInput, CreateTaskInput, EscalateTaskInput, ExpireTaskInput
from domain.clock import utcnow
from domain.ids import new_id
from store.db import create_async_db_engine, session_factory
from store.models import DispatchOutbox
from store.models_tasks import JourneyTask
from store.models_webhooks import WebhookEndpoint
from store.tasks import change_open
from store.workspaces import NewWorkspace
from tests.activities.journey_rows import company, contact, published

CALL = {
    "id": "call", "type": "human_task", "kind": "call", "title": "Call {{ contact.first_name }}",
    "instructions": "Renewal on {{ contact.renewal_date }} ({{ journey.step_id }})", "assignee": "rep@example.com",
    "outcomes": ["done", "no_answer"],
}  # fmt: skip
LINKEDIN = {
    "id": "connect", "type": "linkedin_task", "title": "Connect", "assignee": "sdr@example.com",
    "message": "Hi {{ contact.first_name }}!",
}  # fmt: skip


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_db_engine(database_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


def _request(workspace_id: str, journey_id: str, contact_id: str, step_id: str) -> CreateTaskInput:
    key = f"journey:{workspace_id}:{journey_id}:{contact_id}:{step_id}"
    return CreateTaskInput(
        workspace_id=workspace_id, journey_id=journey_id, version=1, step_id=step_id, contact_id=contact_id,
        workflow_id=f"journey:{workspace_id}:{journey_id}:{contact_id}", idempotency_key=key,
        due_at=utcnow() + timedelta(days=2), sla_at=utcnow() + timedelta(days=1),
    )  # fmt: skip


async def _task(sessions: async_sessionmaker[AsyncSession], task_id: str) -> JourneyTask:
    async with sessions() as session:
        row = await session.get(JourneyTask, task_id)
        assert row is not None
        return row


async def test_create_renders_the_texts_and_is_idempotent(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    journey_id = await published(sessions, ws, [CALL])
    contact_id = await contact(sessions, ws, first_name="Ada", attributes={"renewal_date": "2027-01-31"})
    activities = TaskActivities(sessions, JourneyVersions())
    request = _request(ws, journey_id, contact_id, "call")

    first = await ActivityEnvironment().run(activities.create, request)
    again = await ActivityEnvironment().run(activities.create, request)

    assert (first.created, again.created, again.task_id) == (True, False, first.task_id)
    task = await _task(sessions, first.task_id)
    assert (task.kind, task.status, task.assignee) == ("call", "open", "rep@example.com")
    assert task.title == "Call Ada"
    assert task.instructions == "Renewal on 2027-01-31 (call)"
    assert task.outcomes == ["done", "no_answer"]
    assert task.due_at == request.due_at


async def test_task_texts_see_the_contacts_company(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    step = {**CALL, "title": "Call {{ contact.first_name }} at {{ company.name }}",
            "instructions": "Plan {{ company.attributes.plan }}; {{ company.domain }}"}  # fmt: skip
    journey_id = await published(sessions, ws, [step])
    acme = await company(sessions, ws, name="Acme", domain="acme.io", attributes={"plan": "enterprise"})
    linked = await contact(sessions, ws, first_name="Ada", company_id=acme)
    alone = await contact(sessions, ws, first_name="Bo")
    activities = TaskActivities(sessions, JourneyVersions())

    first = await ActivityEnvironment().run(activities.create, _request(ws, journey_id, linked, "call"))
    second = await ActivityEnvironment().run(activities.create, _request(ws, journey_id, alone, "call"))

    task = await _task(sessions, first.task_id)
    assert (task.title, task.instructions) == ("Call Ada at Acme", "Plan enterprise; acme.io")
    task = await _task(sessions, second.task_id)
    assert (task.title, task.instructions) == ("Call Bo at ", "Plan ; ")  # no company: empty, not an error


async def test_a_linkedin_task_carries_the_profile_url_and_the_message_draft(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    journey_id = await published(sessions, ws, [LINKEDIN])
    contact_id = await contact(
        sessions, ws, first_name="Grace", attributes={"linkedin_url": "https://www.linkedin.com/in/grace"}
    )
    activities = TaskActivities(sessions, JourneyVersions())

    created = await ActivityEnvironment().run(activities.create, _request(ws, journey_id, contact_id, "connect"))

    task = await _task(sessions, created.task_id)
    assert (task.kind, task.profile_url, task.message) == ("linkedin", "https://www.linkedin.com/in/grace", "Hi Grace!")


async def test_escalation_reassigns_once(sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace) -> None:
    ws = workspace.workspace.id
    journey_id = await published(sessions, ws, [CALL])
    contact_id = await contact(sessions, ws, first_name="Ada")
    activities = TaskActivities(sessions, JourneyVersions())
    created = await ActivityEnvironment().run(activities.create, _request(ws, journey_id, contact_id, "call"))
    escalate = EscalateTaskInput(workspace_id=ws, task_id=created.task_id, reassign_to="lead@example.com")

    first = await ActivityEnvironment().run(activities.escalate, escalate)
    again = await ActivityEnvironment().run(activities.escalate, escalate)  # a retried call

    assert (first.previous_assignee, first.assignee) == ("rep@example.com", "lead@example.com")
    assert (again.previous_assignee, again.assignee) == ("rep@example.com", "lead@example.com")
    task = await _task(sessions, created.task_id)
    assert task.assignee == "lead@example.com"
    assert task.escalated_at is not None
    assert task.escalation is not None
    assert task.escalation["reassign_to"] == "lead@example.com"


async def test_notify_escalation_queues_a_task_escalated_event_for_a_subscribed_endpoint(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    journey_id = await published(sessions, ws, [CALL])
    contact_id = await contact(sessions, ws, first_name="Ada")
    activities = TaskActivities(sessions, JourneyVersions())
    created = await ActivityEnvironment().run(activities.create, _request(ws, journey_id, contact_id, "call"))
    notify = EscalateTaskInput(workspace_id=ws, task_id=created.task_id, notify="manager@example.com")

    unsubscribed = await ActivityEnvironment().run(activities.escalate, notify)
    assert unsubscribed.notified is False

    async with sessions() as session:
        session.add(WebhookEndpoint(id=new_id("whep"), workspace_id=ws, url="https://hooks.example.com/in",
                                    event_types=["task.escalated"], secret_encrypted="x"))  # fmt: skip
        await session.commit()
    second = await ActivityEnvironment().run(activities.create, _request(ws, journey_id, contact_id + "b", "call"))
    subscribed = await TaskActivities(sessions, JourneyVersions()).escalate(
        EscalateTaskInput(workspace_id=ws, task_id=second.task_id, notify="manager@example.com")
    )

    assert subscribed.notified is True
    async with sessions() as session:
        query = select(DispatchOutbox).where(col(DispatchOutbox.event_id) == f"{second.task_id}:escalated")
        rows = (await session.execute(query)).scalars().all()
    assert [(r.kind, r.name, r.properties["notify"]) for r in rows] == [
        ("task_escalated", second.task_id, "manager@example.com")
    ]


async def test_expiry_loses_to_a_completion_that_got_there_first(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    journey_id = await published(sessions, ws, [CALL])
    contact_id = await contact(sessions, ws)
    activities = TaskActivities(sessions, JourneyVersions())
    done = await ActivityEnvironment().run(activities.create, _request(ws, journey_id, contact_id, "call"))
    late = await ActivityEnvironment().run(activities.create, _request(ws, journey_id, contact_id + "x", "call"))
    async with sessions() as session:
        assert await change_open(session, done.task_id, utcnow(), status="completed", outcome="done",
                                 completed_by="rep@example.com")  # fmt: skip
        await session.commit()

    kept = await ActivityEnvironment().run(activities.expire, ExpireTaskInput(workspace_id=ws, task_id=done.task_id))
    expired = await ActivityEnvironment().run(activities.expire, ExpireTaskInput(workspace_id=ws, task_id=late.task_id))

    assert (kept.status, kept.outcome, kept.completed_by) == ("completed", "done", "rep@example.com")
    assert (expired.status, expired.outcome) == ("expired", None)


async def test_a_task_of_another_workspace_is_not_found(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    activities = TaskActivities(sessions, JourneyVersions())
    with pytest.raises(ApplicationError, match="no task"):
        await ActivityEnvironment().run(
            activities.expire, ExpireTaskInput(workspace_id=workspace.workspace.id, task_id="tsk_nope")
        )


async def test_cancel_closes_an_open_task_with_the_reason_and_leaves_a_completed_one(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    journey_id = await published(sessions, ws, [CALL])
    contact_id = await contact(sessions, ws)
    activities = TaskActivities(sessions, JourneyVersions())
    open_one = await ActivityEnvironment().run(activities.create, _request(ws, journey_id, contact_id, "call"))
    done = await ActivityEnvironment().run(activities.create, _request(ws, journey_id, contact_id + "d", "call"))
    async with sessions() as session:
        assert await change_open(session, done.task_id, utcnow(), status="completed", outcome="done")
        await session.commit()

    reason = "goal: bought"
    cancelled = await ActivityEnvironment().run(
        activities.cancel, CancelTaskInput(workspace_id=ws, task_id=open_one.task_id, reason=reason)
    )
    kept = await ActivityEnvironment().run(
        activities.cancel, CancelTaskInput(workspace_id=ws, task_id=done.task_id, reason=reason)
    )

    assert (cancelled.status, kept.status) == ("cancelled", "completed")
    assert (await _task(sessions, open_one.task_id)).closed_reason == reason
    again = await ActivityEnvironment().run(activities.create, _request(ws, journey_id, contact_id + "d", "call"))
    assert (again.created, again.status, again.outcome) == (False, "completed", "done")
