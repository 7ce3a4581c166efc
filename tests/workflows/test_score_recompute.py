"""The batch score recompute on the real dev server and database: chunks, heartbeats, the progress query, and a
worker SIGKILLed mid-run: a new worker resumes from the last heartbeat (not from the start) and the result equals
a recompute that was never interrupted."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from temporalio.client import Client, WorkflowHandle

from domain.scoring.rules import RuleSpec, ThresholdSpec
from domain.scoring.runtime import RECOMPUTE_WORKFLOW, RecomputeInput, RecomputeProgress
from store.db import create_async_db_engine, session_factory
from store.scoring_apply import SCORES
from store.scoring_recompute import recompute_chunk
from store.scoring_rules import create_rule, create_threshold, load_scoring
from store.workspaces import NewWorkspace
from tests.store.scoring_support import add_contacts, add_events
from tests.workflows.score_worker import build

CONTACTS = 600
CHUNK = 20


async def _seed(database_url: str, ws: str) -> None:
    engine = create_async_db_engine(database_url)
    now = datetime.now(UTC)
    async with session_factory(engine)() as session:
        await create_rule(
            session, ws, RuleSpec(name="view", group="interest", points=3, event="viewed", half_life_hours=24), now
        )
        await create_threshold(session, ws, ThresholdSpec(group="interest", value=8), now)
        contacts = await add_contacts(session, ws, CONTACTS)
        rows: list[tuple[str, str, dict[str, object], datetime]] = [
            (c, "viewed", {}, now - timedelta(hours=(i * 7 + k) % 90))
            for i, c in enumerate(contacts)
            for k in range(i % 4)
        ]
        await add_events(session, ws, rows)
        await session.commit()
    await engine.dispose()


async def _scores(database_url: str, ws: str) -> dict[tuple[str, str], float]:
    engine = create_async_db_engine(database_url)
    async with session_factory(engine)() as session:
        s = SCORES.c
        rows = await session.execute(select(s.contact_id, s.score_group, s.score).where(s.workspace_id == ws))
        found = {(c, g): v for c, g, v in rows}
    await engine.dispose()
    return found


async def _heartbeat_chunks(handle: WorkflowHandle[object, object]) -> int:
    description = await handle.describe()
    for pending in description.raw_description.pending_activities:
        if pending.heartbeat_details.payloads:
            return int(json.loads(pending.heartbeat_details.payloads[0].data)["chunks"])
    return 0


async def test_recompute_resumes_after_a_worker_kill(
    temporal_client: Client, database_url: str, workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    await _seed(database_url, ws)
    task_queue = f"score-recompute-{uuid.uuid4().hex[:8]}"
    config = temporal_client.service_client.config
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.workflows.score_worker",
        config.target_host, temporal_client.namespace, task_queue, database_url,
        stdout=asyncio.subprocess.PIPE, env={**os.environ},
    )  # fmt: skip
    assert process.stdout is not None
    assert (await asyncio.wait_for(process.stdout.readline(), 60)).strip() == b"ready"
    handle = await temporal_client.start_workflow(
        RECOMPUTE_WORKFLOW,
        RecomputeInput(workspace_id=ws, chunk_size=CHUNK, chunks_per_activity=1000, heartbeat_timeout_seconds=2),
        id=f"score-recompute-test:{ws}",
        task_queue=task_queue,
        result_type=RecomputeProgress,
    )
    try:
        for _ in range(600):  # until the heartbeats show some chunks done, not all
            done = await _heartbeat_chunks(handle)
            if done >= 3:
                break
            await asyncio.sleep(0.05)
        assert 3 <= done < CONTACTS // CHUNK, done
        progress = await handle.query("progress", result_type=RecomputeProgress)
        assert progress.workspace_id == ws
        assert progress.reference is not None
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    async with build(temporal_client, task_queue, database_url):
        result = await asyncio.wait_for(handle.result(), 120)
    assert result.done
    assert result.contacts == CONTACTS
    assert result.chunks == CONTACTS // CHUNK
    assert result.resumed_after_chunks, "the retried attempt resumed from a heartbeat"
    assert result.resumed_after_chunks[0] >= done
    assert result.crossings > 0
    recomputed = await _scores(database_url, ws)
    # the same recompute, never interrupted, at the same reference time: the same scores
    assert result.reference is not None
    engine = create_async_db_engine(database_url)
    async with session_factory(engine)() as session:
        scoring = await load_scoring(session, ws)
        after = None
        while True:
            chunk = await recompute_chunk(session, ws, scoring, after, 500, result.reference)
            if chunk.last_contact_id is None:
                break
            after = chunk.last_contact_id
    await engine.dispose()
    assert await _scores(database_url, ws) == recomputed
    assert len(recomputed) > CONTACTS // 2
