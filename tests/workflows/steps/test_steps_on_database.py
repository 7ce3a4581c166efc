"""The branching and contact steps with their real activities on the database, in a time-skipping run: a contact
is updated and scored, and the split then reads what the run wrote."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from activities.journeys.conditions import SplitActivities
from activities.journeys.contact_steps import ContactStepActivities
from domain.ids import new_id
from store.db import create_async_db_engine, session_factory
from store.models import Contact
from store.models_scoring import ScoreGroupSetting
from store.workspaces import NewWorkspace
from tests.workflows.conftest import JourneyHarness
from tests.workflows.steps.journeys import journey, send
from workflows.journey import JourneyWorkflow


@dataclass
class DatabaseHarness(JourneyHarness):
    sessions: async_sessionmaker[AsyncSession] | None = None

    def extra_activities(self) -> list[Any]:
        assert self.sessions is not None
        contact_steps = ContactStepActivities(self.sessions)
        return [SplitActivities(self.sessions).evaluate_split, *contact_steps.all()]


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_db_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def on_database(
    env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[DatabaseHarness]:
    harness = DatabaseHarness(env, sessions=sessions)
    async with harness.worker():
        yield harness


QUALIFY = journey(
    "mark",
    {"id": "mark", "type": "update_contact", "set": {"stage": "trial-{{ contact.plan }}"}, "next": "bump"},
    {"id": "bump", "type": "adjust_score", "group": "lead", "delta": 15, "next": "route"},
    {
        "id": "route",
        "type": "split",
        "branches": [
            {
                "condition": {
                    "all": [
                        {"attribute": {"property": "stage", "op": "eq", "value": "trial-pro"}},
                        {"score": {"group": "lead", "op": "gte", "value": 10}},
                    ]
                },
                "next": "qualified",
            }
        ],
        "default": "out",
    },
    send("qualified", "won"),
    {"id": "won", "type": "goal", "name": "qualified"},
    {"id": "out", "type": "exit", "reason": "not qualified"},
)


async def test_the_split_reads_what_the_runs_contact_steps_wrote(
    on_database: DatabaseHarness, sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    contact = Contact(id=new_id("ct"), workspace_id=ws, email="ada@example.test", attributes={"plan": "pro"})
    async with sessions() as session:
        session.add_all([contact, ScoreGroupSetting(workspace_id=ws, score_group="lead")])
        await session.commit()
    entry = on_database.journey_input().model_copy(update={"workspace_id": ws, "contact_id": contact.id})

    handle = await on_database.start(QUALIFY, entry)
    result = await handle.result()

    assert (result.status, result.last_step) == ("converted", "won")
    assert on_database.sent_steps == ["qualified"]
    state = await handle.query(JourneyWorkflow.query_state)
    records = {r.step_id: r for r in state.history}
    assert records["mark"].detail == {"changed": {"stage": "trial-pro"}}
    assert records["bump"].reason == "score lead +15: now 15"
    assert records["route"].outcome == "branch:0"
    assert records["route"].reason == 'attribute stage="trial-pro" eq "trial-pro" and score lead=15 >= 10'
    assert records["route"].detail["facts"] == {"attributes": {"stage": "trial-pro"}, "scores": {"lead": 15.0}}
    async with sessions() as session:
        stored = await session.get(Contact, contact.id)
    assert stored is not None
    assert stored.attributes == {"plan": "pro", "stage": "trial-pro"}
