"""message.sent from the send activity: a workspace with an endpoint subscribed to it gets one outbox row of kind
message_sent (event id: the message log id) written with the 'sent' outcome; any other workspace gets none."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from domain.events.interest import OutboxKind
from domain.ids import new_id
from store.models import DispatchOutbox
from store.models_webhooks import WebhookEndpoint
from store.workspaces import NewWorkspace
from tests.activities.test_journey_email import activities_for, http, logs, seed, sessions, sink  # noqa: F401
from tests.servers import SmtpSink


async def _outbox(sessions: async_sessionmaker[AsyncSession], workspace_id: str) -> list[DispatchOutbox]:  # noqa: F811
    async with sessions() as session:
        query = select(DispatchOutbox).where(
            col(DispatchOutbox.workspace_id) == workspace_id, col(DispatchOutbox.kind) == OutboxKind.MESSAGE_SENT
        )
        return list((await session.execute(query)).scalars())


async def test_a_subscribed_workspace_gets_one_message_sent_row_with_the_outcome(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],  # noqa: F811
    http: httpx.AsyncClient,  # noqa: F811
    workspace: NewWorkspace,
    sink: SmtpSink,  # noqa: F811
) -> None:
    ws = workspace.workspace.id
    async with sessions() as session:
        session.add(
            WebhookEndpoint(
                id=new_id("whep"), workspace_id=ws, url="https://hooks.example.com/in", event_types=["message.sent"],
                secret_encrypted="x",
            )
        )  # fmt: skip
        await session.commit()
    activities = activities_for(database_url, sessions, http, sink.port)
    request = await seed(sessions, ws, "ada@example.test")
    first = await activities.send_journey_email(request)
    again = await activities.send_journey_email(request)
    assert (first.status, again.status) == ("sent", "already_sent")
    [log] = await logs(sessions, request.contact_id)
    [row] = await _outbox(sessions, ws)
    assert (row.event_id, row.contact_id, row.name) == (log.id, request.contact_id, "email")
    assert row.properties["message_id"] == log.id
    assert row.properties["journey_id"] == request.journey_id
    assert row.properties["provider"] == log.provider


async def test_without_a_subscriber_the_send_writes_no_outbox_row(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],  # noqa: F811
    http: httpx.AsyncClient,  # noqa: F811
    workspace: NewWorkspace,
    sink: SmtpSink,  # noqa: F811
) -> None:
    activities = activities_for(database_url, sessions, http, sink.port)
    request = await seed(sessions, workspace.workspace.id, "bob@example.test")
    assert (await activities.send_journey_email(request)).status == "sent"
    assert await _outbox(sessions, workspace.workspace.id) == []
