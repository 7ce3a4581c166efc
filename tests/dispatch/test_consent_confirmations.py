"""Double opt-in is durable and idempotent: the API's request commits the pending consent together with a
`consent_confirmation` outbox row and starts nothing itself, so an API killed right after its commit loses no
email: a worker's dispatcher started later sends it. One email per pending request, even when the dispatcher hands
the same row over twice (killed after starting the send, before deleting the row); none for a request confirmed or
withdrawn before it was dispatched. Real dev server, worker, SMTP relay on loopback, database."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from dispatch.consent import ConfirmationConsumer
from domain.events.interest import OutboxKind
from mauntic.consent_confirmations import CONFIRM_SUBJECT
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.models import DispatchOutbox
from store.outbox import OutboxEvent, OutboxRow
from store.workspaces import NewWorkspace
from tests.conftest import make_settings
from tests.outbox_rows import outbox
from tests.servers import SmtpSink
from worker import running_worker

DOUBLE_OPT_IN = {"modes": {"email": "opt_in"}, "double_opt_in": ["email"]}
GRANT = {"changes": [{"channel": "email", "status": "granted"}]}


@pytest.fixture
def settings(database_url: str, smtp: SmtpSink) -> Settings:
    return make_settings(database_url, smtp_host=smtp.host, smtp_port=smtp.port, email_from="Team <team@example.test>")


async def confirmations(sessions: async_sessionmaker[AsyncSession], ws: str) -> list[DispatchOutbox]:
    """The confirmation requests waiting (a consent change also queues a contact row, for segments)."""
    return [row for row in await outbox(sessions, ws) if row.kind == OutboxKind.CONSENT_CONFIRMATION]


async def pending_contact(client: httpx.AsyncClient, headers: dict[str, str], email: str) -> str:
    assert (await client.put("/v1/consent/settings", headers=headers, json=DOUBLE_OPT_IN)).status_code == 200
    created = await client.post("/v1/contacts", headers=headers, json={"email": email})
    assert created.status_code == 201, created.text
    contact_id: str = created.json()["id"]
    put = await client.put(f"/v1/contacts/{contact_id}/consent", headers=headers, json=GRANT)
    assert put.status_code == 200, put.text
    assert [r["status"] for r in put.json()["records"]] == ["pending"]
    return contact_id


@dataclass
class World:
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    temporal: Client

    def consumer(self) -> ConfirmationConsumer:
        """A second dispatcher's consumer, handed a row directly."""
        return ConfirmationConsumer(self.sessions, self.settings, TemporalGateway(self.settings, self.temporal))


@pytest.fixture
def world(sessions: async_sessionmaker[AsyncSession], settings: Settings, temporal_client: Client) -> World:
    return World(sessions, settings, temporal_client)


def as_row(row_id: int | None, event: OutboxEvent) -> OutboxRow:
    assert row_id is not None
    return OutboxRow(row_id, event, 0)


async def test_the_confirmation_survives_the_api_and_is_sent_once_per_request(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace, world: World, smtp: SmtpSink
) -> None:
    ws, sessions, settings = workspace.workspace.id, world.sessions, world.settings
    contact_id = await pending_contact(client, admin_headers, "lin@example.test")

    # What the API committed is all there is: no worker runs, nothing was started, the request waits in the outbox.
    [queued] = await confirmations(sessions, ws)
    assert (queued.kind, queued.contact_id, queued.name) == (OutboxKind.CONSENT_CONFIRMATION, contact_id, "email")
    await asyncio.sleep(0.3)
    assert smtp.messages == []

    async with running_worker(settings, world.temporal):
        [email] = await smtp.wait_for(1)
        for _ in range(100):  # the dispatcher deletes the row once the send is started
            if not await confirmations(sessions, ws):
                break
            await asyncio.sleep(0.05)
        assert await confirmations(sessions, ws) == []

        # the dispatcher killed after starting the send and before deleting the row: the row comes again
        again = world.consumer()
        event = OutboxEvent(ws, contact_id, queued.event_id, "email", {}, queued.occurred_at, queued.kind)
        await again.consume([as_row(queued.id, event)])
        assert again.started == 0
        await asyncio.sleep(0.5)
        assert len(smtp.messages) == 1

    assert email["To"] == "lin@example.test"
    assert email["Subject"] == CONFIRM_SUBJECT
    body = email.get_body(("plain",))
    assert body is not None
    match = re.search(r"https?://\S+/consent/confirm/\S+", body.get_content())
    assert match is not None
    confirmed = await client.post(urlsplit(match.group(0)).path, content=b"")
    assert confirmed.status_code == 200, confirmed.text
    after = (await client.get(f"/v1/contacts/{contact_id}/consent", headers=admin_headers)).json()
    assert [(r["status"], r["source"]) for r in after["records"]] == [("granted", "double_opt_in")]


async def test_a_request_confirmed_or_withdrawn_before_dispatch_sends_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str], workspace: NewWorkspace, world: World, smtp: SmtpSink
) -> None:
    ws, sessions = workspace.workspace.id, world.sessions
    contact_id = await pending_contact(client, admin_headers, "mo@example.test")
    withdraw = {"changes": [{"channel": "email", "status": "withdrawn"}]}
    assert (await client.put(f"/v1/contacts/{contact_id}/consent", headers=admin_headers, json=withdraw)).is_success
    [queued] = await confirmations(sessions, ws)

    consumer = world.consumer()
    event = OutboxEvent(ws, contact_id, queued.event_id, "email", {}, queued.occurred_at, queued.kind)
    await consumer.consume([as_row(queued.id, event)])

    assert consumer.started == 0
    await asyncio.sleep(0.3)
    assert smtp.messages == []
