"""The automatic merge consumer (dispatch/merges.py) on the real dev server: a `contact_merge` row written by
ingestion starts the ContactMerge workflow under its deterministic id; the same row handed over again starts
nothing more, and a row whose merge is no longer running (applied, refused) starts nothing. No worker polls the
queue here: the started workflow is ended by the test (tests/e2e/test_auto_merge_e2e.py runs it)."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowExecutionStatus

from dispatch.merges import MergeConsumer
from domain.events.interest import OutboxKind
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.models_identity import ContactMerge
from store.outbox import OutboxEvent, OutboxRow
from store.workspaces import NewWorkspace
from tests.api.ingest_support import basic
from tests.outbox_rows import outbox


async def test_a_merge_row_starts_its_workflow_once(
    client: httpx.AsyncClient,
    workspace: NewWorkspace,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    temporal_client: Client,
) -> None:
    ws, auth = workspace.workspace.id, basic(workspace.write_key)
    for body in (
        {"type": "identify", "messageId": "m1", "userId": "u-1"},
        {"type": "track", "messageId": "m2", "anonymousId": "a-1", "event": "Viewed"},
        {"type": "identify", "messageId": "m3", "userId": "u-1", "anonymousId": "a-1"},
    ):
        assert (await client.post(f"/v1/{body['type']}", headers=auth, json=body)).status_code == 200
    [queued] = [row for row in await outbox(sessions, ws) if row.kind == OutboxKind.CONTACT_MERGE]
    assert queued.id is not None
    event = OutboxEvent(ws, queued.contact_id, queued.event_id, queued.name, {}, queued.occurred_at, queued.kind)
    consumer = MergeConsumer(sessions, settings, TemporalGateway(settings, temporal_client))

    await consumer.consume([OutboxRow(queued.id, event, 0)])
    await consumer.consume([OutboxRow(queued.id, event, 1)])  # handed over again: already started
    assert consumer.started == 1
    async with sessions() as session:
        merge = await session.get(ContactMerge, queued.event_id)
        assert merge is not None
    handle = temporal_client.get_workflow_handle(merge.workflow_id)
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    await handle.terminate("started by the test")

    async with sessions() as session:
        row = await session.get(ContactMerge, merge.id)
        assert row is not None
        row.status = "refused"
        await session.commit()
    await consumer.consume([OutboxRow(queued.id, event, 2)])
    assert consumer.started == 1
