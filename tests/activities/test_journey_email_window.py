"""The uncertain window of the journey send-email step covers only the provider call: a crash before it (while
composing, resolving the chain) leaves a `pending` claim that a retry sends exactly once; the row is `sending`
exactly while a provider has the message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.delivery.composer import EmailComposer, RenderedEmail
from activities.delivery.registry import DEFAULT_SMTP_ID
from activities.delivery.service import Delivery
from activities.delivery.smtp import SmtpProvider
from domain.delivery.outbound import Acceptance, OutboundEmail
from store.workspaces import NewWorkspace
from tests.activities.test_journey_email import activities_for, logs, seed
from tests.servers import SmtpSink, smtp_sink


@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    async with smtp_sink() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


class _WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside the attempt: it stops, nothing after it runs."""


async def test_a_crash_while_composing_leaves_a_claim_that_the_retry_sends_once(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    workspace: NewWorkspace,
    sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    request = await seed(sessions, workspace.workspace.id, "ada@example.test")
    activities = activities_for(database_url, sessions, http, sink.port)
    compose = EmailComposer.compose
    calls = 0

    async def dies_first(self: EmailComposer, rendered: RenderedEmail) -> OutboundEmail:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise _WorkerKilled
        return await compose(self, rendered)

    monkeypatch.setattr(EmailComposer, "compose", dies_first)
    with pytest.raises(_WorkerKilled):
        await activities.send_journey_email(request)
    [claimed] = await logs(sessions, request.contact_id)
    assert claimed.status == "pending", "nothing went to a provider: the claim must not say `sending`"

    retried = await activities.send_journey_email(request)
    again = await activities.send_journey_email(request)

    assert (retried.status, again.status) == ("sent", "already_sent")
    assert len(sink.messages) == 1
    [log] = await logs(sessions, request.contact_id)
    assert log.status == "sent"


async def test_an_attempt_cancelled_before_the_provider_call_is_sent_by_the_retry(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    workspace: NewWorkspace,
    sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cancelled (a timeout, a worker shutting down) while the chain's rows are being loaded."""
    request = await seed(sessions, workspace.workspace.id, "ada@example.test")
    activities = activities_for(database_url, sessions, http, sink.port)
    started = asyncio.Event()
    chain_rows = Delivery._chain_rows

    async def hangs(self: Delivery, *args: Any) -> Any:
        started.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(Delivery, "_chain_rows", hangs)
    attempt = asyncio.create_task(activities.send_journey_email(request))
    await started.wait()
    attempt.cancel()
    with pytest.raises(asyncio.CancelledError):
        await attempt
    monkeypatch.setattr(Delivery, "_chain_rows", chain_rows)

    retried = await activities.send_journey_email(request)

    assert retried.status == "sent"
    assert len(sink.messages) == 1


async def test_a_kill_at_data_finds_the_row_already_sending(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    workspace: NewWorkspace,
    sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The mark is committed before DATA starts: a kill while the body travels leaves `sending` (then uncertain)."""
    request = await seed(sessions, workspace.workspace.id, "ada@example.test")
    activities = activities_for(database_url, sessions, http, sink.port)
    data = SmtpProvider._data

    async def killed(self: SmtpProvider, client: Any, raw: bytes) -> None:
        raise _WorkerKilled

    monkeypatch.setattr(SmtpProvider, "_data", killed)
    with pytest.raises(_WorkerKilled):
        await activities.send_journey_email(request)
    [row] = await logs(sessions, request.contact_id)
    assert row.status == "sending", "killed right at DATA: the row must say a provider may have it"
    monkeypatch.setattr(SmtpProvider, "_data", data)
    assert (await activities.send_journey_email(request)).status == "uncertain"
    assert sink.messages == []


async def test_the_row_is_sending_only_while_the_provider_has_the_message(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    workspace: NewWorkspace,
    sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    request = await seed(sessions, workspace.workspace.id, "ada@example.test")
    activities = activities_for(database_url, sessions, http, sink.port)
    seen: dict[str, tuple[str, str | None]] = {}
    compose, send, data = EmailComposer.compose, SmtpProvider.send_email, SmtpProvider._data

    async def composing(self: EmailComposer, rendered: RenderedEmail) -> OutboundEmail:
        [row] = await logs(sessions, request.contact_id)
        seen["compose"] = (row.status, row.provider)
        return await compose(self, rendered)

    async def connecting(self: SmtpProvider, message: OutboundEmail) -> Acceptance:
        [row] = await logs(sessions, request.contact_id)
        seen["connect"] = (row.status, row.provider)
        return await send(self, message)

    async def sending_data(self: SmtpProvider, client: Any, raw: bytes) -> None:
        [row] = await logs(sessions, request.contact_id)
        seen["data"] = (row.status, row.provider)
        await data(self, client, raw)

    monkeypatch.setattr(EmailComposer, "compose", composing)
    monkeypatch.setattr(SmtpProvider, "send_email", connecting)
    monkeypatch.setattr(SmtpProvider, "_data", sending_data)

    result = await activities.send_journey_email(request)

    assert result.status == "sent"
    assert seen["compose"] == ("pending", None)
    assert seen["connect"] == ("pending", None), "connecting and the envelope deliver nothing"
    assert seen["data"] == ("sending", DEFAULT_SMTP_ID), "the row names the provider that has the message"
    [log] = await logs(sessions, request.contact_id)
    assert log.status == "sent"
