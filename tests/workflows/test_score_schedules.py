"""Scoring's scheduled work on the dev server: the worker's Schedules exist (and ensuring them twice is fine), the
expiry workflow closes expired alerts, and the recompute-all workflow recomputes each scored workspace."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from temporalio.client import Client

from activities.scoring.schedules import ensure_scoring_schedules
from domain.scoring.rules import RuleSpec
from domain.scoring.runtime import (
    EXPIRE_ALERTS_SCHEDULE_ID,
    EXPIRE_ALERTS_WORKFLOW,
    RECOMPUTE_ALL_WORKFLOW,
    RECOMPUTE_SCHEDULE_ID,
    ExpireAlertsInput,
    ExpireAlertsResult,
    RecomputeAllInput,
    RecomputeAllResult,
)
from store.db import create_async_db_engine, session_factory
from store.scoring_apply import ALERTS, SCORES
from store.scoring_rules import create_rule
from store.workspaces import NewWorkspace
from tests.store.scoring_support import add_contacts, add_events
from tests.workflows.score_worker import build


async def test_schedules_exist_after_ensuring_twice(temporal_client: Client) -> None:
    task_queue = f"scoring-{uuid.uuid4().hex[:8]}"
    await ensure_scoring_schedules(temporal_client, task_queue)
    await ensure_scoring_schedules(temporal_client, task_queue)
    for schedule_id in (RECOMPUTE_SCHEDULE_ID, EXPIRE_ALERTS_SCHEDULE_ID):
        description = await temporal_client.get_schedule_handle(schedule_id).describe()
        assert description.schedule.spec.intervals


async def test_expiry_closes_expired_alerts_and_recompute_all_covers_scored_workspaces(
    temporal_client: Client, database_url: str, workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    now = datetime.now(UTC)
    engine = create_async_db_engine(database_url)
    sessions = session_factory(engine)
    async with sessions() as session:
        [contact] = await add_contacts(session, ws, 1, prefix="sched")
        await create_rule(session, ws, RuleSpec(name="v", group="interest", points=2, event="viewed"), now)
        await add_events(session, ws, [(contact, "viewed", {}, now)])
        rows = [
            {"workspace_id": ws, "contact_id": contact, "threshold_id": "sth_x", "score_group": "total",
             "threshold": 1.0, "direction": "up", "score": 2.0, "previous": 0.0, "opened_at": now - timedelta(hours=3),
             "expires_at": now - timedelta(hours=1) if expired else now + timedelta(hours=1),
             "acknowledged_at": None, "closed_at": None}
            for expired in (True, False)
        ]  # fmt: skip
        await session.execute(insert(ALERTS), rows)
        await session.commit()
    task_queue = f"scoring-{uuid.uuid4().hex[:8]}"
    async with build(temporal_client, task_queue, database_url):
        closed = await temporal_client.execute_workflow(
            EXPIRE_ALERTS_WORKFLOW, ExpireAlertsInput(), id=f"expiry-{uuid.uuid4().hex}", task_queue=task_queue,
            result_type=ExpireAlertsResult,
        )  # fmt: skip
        assert closed.closed >= 1
        done = await temporal_client.execute_workflow(
            RECOMPUTE_ALL_WORKFLOW, RecomputeAllInput(chunk_size=100), id=f"all-{uuid.uuid4().hex}",
            task_queue=task_queue, result_type=RecomputeAllResult,
        )  # fmt: skip
        assert done.workspaces >= 1
    async with sessions() as session:
        states = dict(
            (expires > now, closed_at is not None)
            for expires, closed_at in await session.execute(
                select(ALERTS.c.expires_at, ALERTS.c.closed_at).where(ALERTS.c.workspace_id == ws)
            )
        )
        assert states == {False: True, True: False}
        score = await session.execute(
            select(SCORES.c.score).where(SCORES.c.contact_id == contact, SCORES.c.score_group == "total")
        )
        assert score.scalar_one() == 2.0
    await engine.dispose()
