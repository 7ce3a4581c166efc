"""The outbound webhook consumer against a real database: outbox rows of subscribed types become one delivery per
(endpoint, row), consuming the same rows again queues nothing new, and unsubscribed or disabled endpoints get
nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from temporalio.client import Client

from dispatch.webhooks import WebhookConsumer
from domain.clock import utcnow
from domain.events.interest import OutboxKind
from domain.ids import new_id
from mauntic.temporal import TemporalGateway
from store.db import create_async_db_engine, session_factory
from store.models_webhooks import WebhookDelivery, WebhookEndpoint
from store.outbox import OutboxEvent, OutboxRow
from store.workspaces import NewWorkspace
from tests.conftest import make_settings


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_db_engine(database_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def _endpoint(sessions: async_sessionmaker[AsyncSession], ws: str, types: list[str], enabled: bool = True) -> str:
    row = WebhookEndpoint(
        id=new_id("whep"), workspace_id=ws, url="http://127.0.0.1:9/hook", event_types=types, enabled=enabled,
        secret_encrypted="x",
    )  # fmt: skip
    async with sessions() as session:
        session.add(row)
        await session.commit()
    return row.id


def _row(i: int, ws: str, kind: str, name: str) -> OutboxRow:
    return OutboxRow(i, OutboxEvent(ws, f"c_{i}", f"ev_{i}", name, {"threshold": 50}, utcnow(), kind), 0)


async def test_subscribed_rows_become_one_delivery_per_endpoint_and_row(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace, database_url: str, temporal_client: Client
) -> None:
    ws = workspace.workspace.id
    both = await _endpoint(sessions, ws, ["segment.entered", "score.crossed"])
    scores = await _endpoint(sessions, ws, ["score.crossed"])
    await _endpoint(sessions, ws, ["score.crossed"], enabled=False)
    settings = make_settings(database_url)
    consumer = WebhookConsumer(sessions, settings, TemporalGateway(settings, temporal_client))
    rows = [
        _row(1, ws, OutboxKind.SEGMENT_ENTERED, "seg_1"),
        _row(2, ws, OutboxKind.SCORE_CROSSED, "total"),
        _row(3, ws, OutboxKind.EVENT, "Signed Up"),  # a track event: no webhook type
        _row(4, ws, OutboxKind.CONTACT, "created"),  # nobody subscribed
    ]
    await consumer.consume(rows)
    await consumer.consume(rows)  # at-least-once: the same batch again
    async with sessions() as session:
        found = (
            await session.execute(select(WebhookDelivery).where(col(WebhookDelivery.workspace_id) == ws))
        ).scalars()
        got = sorted((d.endpoint_id, d.event_type) for d in found)
        assert got == sorted([(both, "segment.entered"), (both, "score.crossed"), (scores, "score.crossed")])
        entered = (
            await session.execute(select(WebhookDelivery).where(col(WebhookDelivery.event_type) == "segment.entered"))
        ).scalars()
        body = json.loads(next(d for d in entered if d.workspace_id == ws).body)
    assert body["type"] == "segment.entered"
    assert body["data"]["segment_id"] == "seg_1"
    assert body["data"]["contact_id"] == "c_1"


async def test_journey_and_message_sent_rows_become_deliveries_with_their_data(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace, database_url: str, temporal_client: Client
) -> None:
    ws = workspace.workspace.id
    endpoint = await _endpoint(sessions, ws, ["journey.entered", "journey.completed", "message.sent"])
    settings = make_settings(database_url)
    consumer = WebhookConsumer(sessions, settings, TemporalGateway(settings, temporal_client))
    now = utcnow()
    wf = f"journey:{ws}:jrn_1:c_1"
    rows = [
        OutboxRow(1, OutboxEvent(ws, "c_1", "jrn_1:c_1", "jrn_1", {"version": 2, "workflow_id": wf}, now,
                                 OutboxKind.JOURNEY_ENTERED), 0),
        OutboxRow(2, OutboxEvent(ws, "c_1", "msg_1", "email", {"message_id": "msg_1", "provider": "smtp"}, now,
                                 OutboxKind.MESSAGE_SENT), 0),
        OutboxRow(3, OutboxEvent(ws, "c_1", "jrn_1:c_1", "jrn_1", {"last_step": "done"}, now,
                                 OutboxKind.JOURNEY_COMPLETED), 0),
    ]  # fmt: skip
    await consumer.consume(rows)
    await consumer.consume(rows)  # at-least-once: the same batch again queues nothing new
    async with sessions() as session:
        query = select(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint)
        found = list((await session.execute(query)).scalars())
    bodies = {d.event_type: json.loads(d.body) for d in found}
    assert len(found) == 3
    assert bodies["journey.entered"]["data"] == {
        "workspace_id": ws, "contact_id": "c_1", "event_id": "jrn_1:c_1", "journey_id": "jrn_1",
        "properties": {"version": 2, "workflow_id": wf},
    }  # fmt: skip
    assert bodies["message.sent"]["data"] == {
        "workspace_id": ws, "contact_id": "c_1", "event_id": "msg_1", "channel": "email", "message_id": "msg_1",
        "provider": "smtp",
    }  # fmt: skip
    assert bodies["journey.completed"]["data"]["properties"] == {"last_step": "done"}
