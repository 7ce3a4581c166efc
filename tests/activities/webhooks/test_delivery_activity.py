"""The delivery activity against a real database and a loopback sink: attempts recorded, retries exhausted into a
dead letter, an interrupted attempt recorded when its lease runs out, the delivery-time address guard, and the
dead-letter replay (idempotent: a delivery that succeeded meanwhile is not sent again)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from activities.webhooks.contracts import DeliverDueInput
from activities.webhooks.delivery import WebhookDeliveryActivities
from activities.webhooks.transport import REFUSED, webhook_http_client
from domain.clock import utcnow
from domain.ids import new_id
from domain.outbound_webhooks.signing import new_secret
from drills.webhook_sink import WebhookSink
from mauntic.dead_letters.replayers import ReplayContext, replay_webhook_delivery
from mauntic.secrets import SecretBox
from mauntic.temporal import TemporalGateway
from store import webhook_deliveries
from store.db import create_async_db_engine, session_factory
from store.models import DeadLetter
from store.models_webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from store.webhook_deliveries import INTERRUPTED, NewDelivery
from store.workspaces import NewWorkspace
from tests.conftest import TEST_SECRET_KEY, make_settings

BOX = SecretBox(TEST_SECRET_KEY)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_db_engine(database_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def _endpoint_with_delivery(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace, url: str, *, max_attempts: int = 8
) -> str:
    endpoint = WebhookEndpoint(
        id=new_id("whep"), workspace_id=workspace.workspace.id, url=url,
        event_types=["contact.created"], secret_encrypted=BOX.encrypt(new_secret()),
    )  # fmt: skip
    async with sessions() as session:
        session.add(endpoint)
        await session.flush()
        new = NewDelivery(workspace.workspace.id, endpoint.id, "contact.created", f"test:{endpoint.id}", '{"a":1}')
        assert await webhook_deliveries.queue(session, [new, new], utcnow(), max_attempts) == 1
        await session.commit()
    return webhook_deliveries.delivery_id(endpoint.id, f"test:{endpoint.id}")


def _activities(sessions: async_sessionmaker[AsyncSession], *, private: bool = True) -> WebhookDeliveryActivities:
    http = webhook_http_client(private_networks_allowed=private, timeout_seconds=2, max_connections=8)
    return WebhookDeliveryActivities(sessions, http, BOX, endpoint_concurrency=4, retry_scale=0.001)


async def _run(activities: WebhookDeliveryActivities) -> None:
    await ActivityEnvironment().run(activities.deliver_due, DeliverDueInput(chunk_size=50, lease_seconds=5))


async def _row(
    sessions: async_sessionmaker[AsyncSession], delivery_id: str
) -> tuple[WebhookDelivery, list[int | None]]:
    async with sessions() as session:
        row = await session.get(WebhookDelivery, delivery_id)
        assert row is not None
        attempts = await webhook_deliveries.list_attempts(session, delivery_id)
        return row, [a.status_code for a in attempts]


async def test_exhausted_retries_become_a_dead_letter_and_replay_is_idempotent(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace, database_url: str, temporal_client: Client
) -> None:
    codes = iter([500, 502])
    async with WebhookSink(status_for=lambda _r, _n: next(codes, 200)).running() as sink:
        did = await _endpoint_with_delivery(sessions, workspace, sink.url, max_attempts=2)
        activities = _activities(sessions)
        for _ in range(2):
            await _run(activities)
            await asyncio.sleep(0.05)  # the first retry is due after 5 ms at this scale
        row, codes_seen = await _row(sessions, did)
        assert (row.status, codes_seen) == ("dead", [500, 502])
        async with sessions() as session:
            letter = (
                await session.execute(select(DeadLetter).where(DeadLetter.subject_id == did))  # type: ignore[arg-type]
            ).scalar_one()
            assert (letter.kind, letter.workspace_id, letter.attempts) == (
                "webhook_delivery",
                workspace.workspace.id,
                2,
            )

            gateway = TemporalGateway(make_settings(database_url), temporal_client)
            said = await replay_webhook_delivery(ReplayContext(session, gateway, "test", dry_run=False), letter)
            assert "due again" in said
        await _run(activities)
        row, codes_seen = await _row(sessions, did)
        assert (row.status, codes_seen) == ("delivered", [500, 502, 200])
        assert sink.seen == {did: 3}
        async with sessions() as session:
            said = await replay_webhook_delivery(ReplayContext(session, gateway, "test", dry_run=False), letter)
        assert "nothing sent" in said
        await _run(activities)
        assert sink.seen == {did: 3}


async def test_an_attempt_cut_off_by_a_dead_worker_is_recorded_and_retried(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    async with WebhookSink().running() as sink:
        did = await _endpoint_with_delivery(sessions, workspace, sink.url)
        async with sessions() as session:  # a worker claims it, then dies before settling
            claimed = await webhook_deliveries.claim(session, utcnow(), 500, timedelta(seconds=1))
            assert did in [d.id for d in claimed]
            await session.commit()
        await _run(_activities(sessions))  # still leased: nothing to do
        assert did not in sink.seen
        await asyncio.sleep(1.1)
        await _run(_activities(sessions))
        row, codes_seen = await _row(sessions, did)
        assert (row.status, row.attempts, codes_seen) == ("delivered", 2, [None, 200])
        async with sessions() as session:
            first = (await webhook_deliveries.list_attempts(session, did))[0]
        assert isinstance(first, WebhookAttempt)
        assert first.error == INTERRUPTED


async def test_delivery_refuses_a_private_address_when_the_deployment_does_not_allow_it(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    async with WebhookSink().running() as sink:
        did = await _endpoint_with_delivery(sessions, workspace, sink.url)
        await _run(_activities(sessions, private=False))
        async with sessions() as session:
            attempts = await webhook_deliveries.list_attempts(session, did)
        assert [a.error for a in attempts] == [REFUSED]
        assert sink.requests == []


async def test_an_endpoint_whose_secret_does_not_decrypt_holds_back_only_itself(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    async with WebhookSink().running() as sink:
        good = await _endpoint_with_delivery(sessions, workspace, sink.url)
        bad = await _endpoint_with_delivery(sessions, workspace, sink.url)
        async with sessions() as session:
            row = await session.get(WebhookDelivery, bad)
            assert row is not None
            endpoint = await session.get(WebhookEndpoint, row.endpoint_id)
            assert endpoint is not None
            endpoint.secret_encrypted = "not-a-fernet-token"
            await session.commit()
        await _run(_activities(sessions))
        assert (await _row(sessions, good))[0].status == "delivered"
        bad_row, codes = await _row(sessions, bad)
        assert (bad_row.status, codes) == ("pending", [None])
        assert bad_row.last_error is not None
        assert "MAUNTIC_SECRET_KEY" in bad_row.last_error
        assert bad not in sink.seen
