"""The send gate against the real database (SQLite always, PostgreSQL when MAUNTIC_TEST_DATABASE_URL is set): a cap
is exact under concurrency, a retried gate reuses its reservation, quiet hours follow the contact's zone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from activities.journeys.contracts import SendGateInput
from activities.journeys.send_gate import SendGateActivities
from domain.consent.model import ConsentSource, ConsentStatus
from domain.ids import new_id
from domain.journeys.send_policy import JourneySendPolicy, WorkspaceSendPolicy
from store.consent import record_consent
from store.db import create_async_db_engine, session_factory
from store.models import Contact, SendReservation, Workspace
from store.send_policy import put_workspace_send_policy
from store.workspaces import NewWorkspace

NOW = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)
ONE_A_DAY = JourneySendPolicy.model_validate({"caps": [{"channel": "email", "limit": 1, "window": "P1D"}]})


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_db_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


async def a_contact(sessions: async_sessionmaker[AsyncSession], workspace_id: str, zone: str | None = None) -> str:
    contact_id = new_id("ct")
    async with sessions() as session:
        session.add(Contact(id=contact_id, workspace_id=workspace_id, email="a@example.test", timezone=zone))
        await session.commit()
    return contact_id


def ask(workspace_id: str, contact_id: str, key: str, policy: JourneySendPolicy | None = ONE_A_DAY,
        now: datetime = NOW, channel: str = "email", topic: str | None = None) -> SendGateInput:  # fmt: skip
    return SendGateInput(
        workspace_id=workspace_id, journey_id=f"jr-{key}", contact_id=contact_id, channel=channel,
        idempotency_key=f"{contact_id}:{key}", now=now, journey_policy=policy, topic=topic,
    )  # fmt: skip


async def test_two_gates_racing_for_one_contact_with_a_cap_of_one_allow_exactly_one(
    database_url: str, sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    contact = await a_contact(sessions, ws)
    # two workers: their own engines and connections, as two processes have
    engines = [create_async_db_engine(database_url) for _ in range(2)]
    try:
        gates = [SendGateActivities(session_factory(engine)) for engine in engines]
        verdicts = await asyncio.gather(
            *(gates[i % 2].check_send_gate(ask(ws, contact, f"journey-{i}")) for i in range(6))
        )
    finally:
        for engine in engines:
            await engine.dispose()
    decisions = sorted(verdict.decision for verdict in verdicts)
    assert decisions == ["allowed", "capped", "capped", "capped", "capped", "capped"]
    capped = next(verdict for verdict in verdicts if verdict.decision == "capped")
    assert capped.detail["rule"] == "caps[0]"
    assert capped.detail["count"] == 1
    assert capped.detail["window"] == "P1D"
    assert capped.until == NOW + timedelta(days=1)
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(SendReservation).where(col(SendReservation.contact_id) == contact)
        )
    assert count == 1


async def test_a_cap_of_three_lets_exactly_three_through_a_burst(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    contact = await a_contact(sessions, ws)
    policy = JourneySendPolicy.model_validate({"caps": [{"channel": "email", "limit": 3, "window": "P7D"}]})
    gate = SendGateActivities(sessions)
    verdicts = await asyncio.gather(*(gate.check_send_gate(ask(ws, contact, f"s{i}", policy)) for i in range(8)))
    assert [verdict.decision for verdict in verdicts].count("allowed") == 3


async def test_a_retried_gate_reuses_its_reservation(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    contact = await a_contact(sessions, ws)
    gate = SendGateActivities(sessions)
    first = await gate.check_send_gate(ask(ws, contact, "welcome"))
    again = await gate.check_send_gate(ask(ws, contact, "welcome", now=NOW + timedelta(minutes=1)))
    other = await gate.check_send_gate(ask(ws, contact, "nudge"))
    assert (first.decision, again.decision, other.decision) == ("allowed", "allowed", "capped")


async def test_a_cap_frees_when_its_window_has_passed_and_counts_per_channel(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    contact = await a_contact(sessions, ws)
    gate = SendGateActivities(sessions)
    assert (await gate.check_send_gate(ask(ws, contact, "a"))).decision == "allowed"
    assert (await gate.check_send_gate(ask(ws, contact, "b", channel="sms"))).decision == "allowed"
    held = await gate.check_send_gate(ask(ws, contact, "c", now=NOW + timedelta(hours=23)))
    assert held.decision == "capped"
    assert held.until == NOW + timedelta(days=1)
    later = await gate.check_send_gate(ask(ws, contact, "c", now=NOW + timedelta(days=1, seconds=1)))
    assert later.decision == "allowed"


async def test_the_workspace_default_applies_unless_the_journey_replaces_its_caps(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    async with sessions() as session:
        default = WorkspaceSendPolicy.model_validate({"caps": [{"channel": "email", "limit": 1, "window": "P7D"}]})
        await put_workspace_send_policy(session, ws, default)
        await session.commit()
    contact = await a_contact(sessions, ws)
    gate = SendGateActivities(sessions)
    assert (await gate.check_send_gate(ask(ws, contact, "a", policy=None))).decision == "allowed"
    assert (await gate.check_send_gate(ask(ws, contact, "b", policy=None))).decision == "capped"
    uncapped = JourneySendPolicy.model_validate({"caps": []})
    assert (await gate.check_send_gate(ask(ws, contact, "c", policy=uncapped))).decision == "allowed"
    skipping = JourneySendPolicy.model_validate({"on_capped": "skip"})
    verdict = await gate.check_send_gate(ask(ws, contact, "d", policy=skipping))
    assert (verdict.decision, verdict.on_capped) == ("capped", "skip")


async def test_quiet_hours_are_in_the_contacts_zone_else_the_workspaces(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    async with sessions() as session:
        row = await session.get(Workspace, ws)
        assert row is not None
        row.timezone = "Europe/Berlin"
        await session.commit()
    quiet = JourneySendPolicy.model_validate({"quiet_hours": {"start": "21:00", "end": "08:00"}})
    gate = SendGateActivities(sessions)
    evening = datetime(2026, 6, 1, 20, 0, tzinfo=UTC)  # 22:00 in Berlin, 16:00 in New York
    in_berlin = await gate.check_send_gate(ask(ws, await a_contact(sessions, ws), "a", quiet, evening))
    assert in_berlin.decision == "quiet"
    assert in_berlin.until == datetime(2026, 6, 2, 6, 0, tzinfo=UTC)  # 08:00 CEST
    assert in_berlin.detail == {"rule": "quiet_hours", "start": "21:00", "end": "08:00", "timezone": "Europe/Berlin"}
    new_yorker = await a_contact(sessions, ws, "America/New_York")
    assert (await gate.check_send_gate(ask(ws, new_yorker, "a", quiet, evening))).decision == "allowed"


async def test_a_gate_whose_workflow_clock_is_behind_still_counts_the_other_send(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    """Journeys' workflow times differ by milliseconds: the later-asking journey may be the earlier clock."""
    ws = workspace.workspace.id
    contact = await a_contact(sessions, ws)
    gate = SendGateActivities(sessions)
    ahead = await gate.check_send_gate(ask(ws, contact, "spring", now=NOW + timedelta(milliseconds=12)))
    behind = await gate.check_send_gate(ask(ws, contact, "summer", now=NOW))
    assert (ahead.decision, behind.decision) == ("allowed", "capped")
    assert behind.until == NOW + timedelta(days=1, milliseconds=12)


async def test_a_send_without_consent_takes_no_cap_slot_and_waits_out_no_quiet_hours(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    """The send activity skips it (and logs why); the gate must not hold it overnight nor reserve for it."""
    ws = workspace.workspace.id
    contact = await a_contact(sessions, ws)
    async with sessions() as session:
        await record_consent(session, ws, contact, channel="email", topic="news", wanted=ConsentStatus.WITHDRAWN,
                             source=ConsentSource.API)  # fmt: skip
        await session.commit()
    gate = SendGateActivities(sessions)
    quiet = JourneySendPolicy.model_validate({"quiet_hours": {"start": "00:00", "end": "23:59"}})

    withdrawn = [ask(ws, contact, "news", topic="news"), ask(ws, contact, "late", quiet, topic="news")]
    assert [(await gate.check_send_gate(request)).decision for request in withdrawn] == ["allowed", "allowed"]
    async with sessions() as session:
        reserved = await session.scalar(
            select(func.count()).select_from(SendReservation).where(col(SendReservation.contact_id) == contact)
        )
    assert reserved == 0
    # the channel itself is still consented: an untopical send is reserved and held as before
    assert (await gate.check_send_gate(ask(ws, contact, "plain"))).decision == "allowed"
    assert (await gate.check_send_gate(ask(ws, contact, "other"))).decision == "capped"
    assert (await gate.check_send_gate(ask(ws, contact, "night", quiet))).decision == "quiet"
