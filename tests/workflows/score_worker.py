"""A worker process running only the scoring workflows and activities, for the recompute kill test:
`python -m tests.workflows.score_worker TARGET NAMESPACE TASK_QUEUE DATABASE_URL`.
Its chunks are slowed (0.1 s each) so the test can kill it mid-run. Prints `ready` once polling."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.scoring.activities import ScoringActivities
from store.db import create_async_db_engine, session_factory
from store.scoring_recompute import ChunkResult, recompute_chunk
from store.scoring_rules import Scoring
from workflows.runner import workflow_runner
from workflows.score_recompute import WORKFLOWS


async def _slow_chunk(
    session: AsyncSession, workspace_id: str, scoring: Scoring, after: str | None, size: int, reference: datetime
) -> ChunkResult:
    await asyncio.sleep(0.1)
    return await recompute_chunk(session, workspace_id, scoring, after, size, reference)


def build(client: Client, task_queue: str, database_url: str, slow: bool = False) -> Worker:
    sessions = session_factory(create_async_db_engine(database_url))
    activities = ScoringActivities(sessions, _slow_chunk) if slow else ScoringActivities(sessions)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=activities.all(),
        workflow_runner=workflow_runner(),
    )


async def main(target: str, namespace: str, task_queue: str, database_url: str) -> None:
    client = await Client.connect(target, namespace=namespace, data_converter=pydantic_data_converter)
    async with build(client, task_queue, database_url, slow=True):
        print("ready", flush=True)  # noqa: T201
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
