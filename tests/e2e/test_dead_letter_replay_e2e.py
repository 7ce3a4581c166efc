"""A send that fails for good, end to end on the real worker, dev server, database and an SMTP relay: the journey
records a send dead letter and goes down its on_failure branch; once the cause is fixed, POST
/v1/dead-letters/replay sends the email once; replaying an item whose message was meanwhile sent sends nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlmodel import col
from temporalio.client import Client

from activities.dead_letters.contracts import REPLAY_SEND_WORKFLOW, ReplaySendInput
from activities.journeys.contracts import SendJourneyEmailOutput
from mauntic.settings import Settings
from store.db import create_async_db_engine, session_factory
from store.models import DeadLetter, MessageLog
from store.workspaces import NewWorkspace
from tests.api.ingest_support import basic
from tests.servers import SmtpSink

pytestmark = pytest.mark.e2e

DEFINITION: dict[str, Any] = {
    "trigger": {"event": "Signed Up"},
    "start": "welcome",
    "steps": [
        {"id": "welcome", "type": "send_email", "subject": "Welcome {{ contact.first_name }}", "text": "Hi.",
         "next": "done", "on_failure": "gave_up"},
        {"id": "gave_up", "type": "end"},
        {"id": "done", "type": "end"},
    ],
}  # fmt: skip


async def _sql(database_url: str, statement: Any) -> None:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            await session.execute(statement)
            await session.commit()
    finally:
        await engine.dispose()


async def _eventually(read: Any, predicate: Any, what: str) -> Any:
    for _ in range(300):
        value = await read()
        if predicate(value):
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"never {what}: {value}")


async def test_a_refused_send_is_dead_lettered_then_replayed_once_and_never_twice(
    base_url: str,
    workspace: NewWorkspace,
    database_url: str,
    smtp: SmtpSink,
    temporal_client: Client,
    stack_settings: Settings,
) -> None:
    smtp.refused.add("ann@example.test")
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        journey_id = (await api.post("/v1/journeys", json={"name": "W", "definition": DEFINITION})).json()["id"]
        assert (await api.post(f"/v1/journeys/{journey_id}/publish")).status_code == 200
        write = basic(workspace.write_key)
        identify = {"userId": "u-ann", "traits": {"email": "ann@example.test", "first_name": "Ann"}}
        assert (await api.post("/v1/identify", json=identify, headers=write)).status_code == 200
        assert (await api.post("/v1/track", json={"userId": "u-ann", "event": "Signed Up"}, headers=write)).is_success
        contact_id = (await api.get("/v1/contacts/lookup", params={"external_id": "u-ann"})).json()["id"]

        # The journey went down its failure branch and completed; the send is a dead letter.
        async def state() -> dict[str, Any]:
            answer = await api.get(f"/v1/journeys/{journey_id}/contacts/{contact_id}")
            return answer.json() if answer.status_code == 200 else {}

        done = await _eventually(state, lambda s: s.get("state", {}).get("status") == "completed", "completed")
        assert [(r["step_id"], r["outcome"]) for r in done["state"]["history"]] == [
            ("welcome", "failed"),
            ("gave_up", "end"),
        ]
        letters = (await api.get("/v1/dead-letters", params={"kind": "send"})).json()["data"]
        [letter] = letters
        key = f"journey:{workspace.workspace.id}:{journey_id}:{contact_id}:welcome"
        assert (letter["subject_id"], letter["status"], letter["error_type"]) == (key, "open", "PermanentDeliveryError")
        assert "550" in letter["error"]
        assert letter["contact_id"] == contact_id
        assert letter["workflow_id"] == f"journey:{workspace.workspace.id}:{journey_id}:{contact_id}"
        assert letter["input"]["idempotency_key"] == key
        assert smtp.messages == []

        # The mailbox exists now: replay sends the email, once.
        smtp.refused.clear()
        dry = (await api.post("/v1/dead-letters/replay", json={"ids": [letter["id"]], "dry_run": True})).json()
        assert dry["outcomes"][0]["action"] == "would_replay"
        await asyncio.sleep(1.0)
        assert smtp.messages == []  # a dry run sends nothing
        replay = await api.post("/v1/dead-letters/replay", json={"ids": [letter["id"]]})
        assert replay.status_code == 200, replay.text
        assert replay.json()["outcomes"][0]["action"] == "replayed"
        await smtp.wait_for(1)
        assert smtp.messages[0]["Subject"] == "Welcome Ann"
        message_id = replay.json()["outcomes"][0]["detail"]

        async def message_status() -> str:
            messages = (await api.get("/v1/messages")).json()["data"]
            return str(messages[0]["status"]) if messages else ""

        await _eventually(message_status, lambda s: s == "sent", "sent")
        assert message_id.startswith(f"send started again as dead-letter-replay:{letter['id']}")

        # An item that meanwhile succeeded (here: reopened by hand after its message went out) sends nothing.
        await _sql(database_url, update(DeadLetter).where(col(DeadLetter.id) == letter["id"]).values(status="open"))
        again = (await api.post("/v1/dead-letters/replay", json={"ids": [letter["id"]]})).json()
        assert again["outcomes"][0]["action"] == "replayed"
        assert "was sent meanwhile: nothing sent again" in again["outcomes"][0]["detail"]
        # And the replay workflow itself, racing a send that completed after the check: the activity's guard.
        race = ReplaySendInput(dead_letter_id=letter["id"], workspace_id=workspace.workspace.id,
                               journey_id=journey_id, version=1, step_id="welcome", contact_id=contact_id,
                               idempotency_key=key)  # fmt: skip
        result = await temporal_client.execute_workflow(
            REPLAY_SEND_WORKFLOW,
            race,
            id=f"dead-letter-replay-race:{letter['id']}",
            task_queue=stack_settings.temporal_task_queue,
            result_type=SendJourneyEmailOutput,
        )
        assert result.status == "already_sent"
        await asyncio.sleep(1.5)  # a second copy would have arrived by now
        assert len(smtp.messages) == 1
        read = (await api.get(f"/v1/dead-letters/{letter['id']}")).json()
        assert read["status"] == "replayed"
    engine = create_async_db_engine(database_url)
    try:
        async with engine.connect() as conn:
            found = await conn.execute(select(col(MessageLog.status)).where(col(MessageLog.idempotency_key) == key))
            assert found.scalars().all() == ["sent"]  # one message row for the step, whatever was replayed
    finally:
        await engine.dispose()


async def test_a_failed_journey_is_restarted_at_its_failed_step_and_sends_once(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink
) -> None:
    smtp.refused.add("bob@example.test")
    definition = {**DEFINITION, "steps": [{**DEFINITION["steps"][0], "on_failure": None}, DEFINITION["steps"][2]]}
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        journey_id = (await api.post("/v1/journeys", json={"name": "F", "definition": definition})).json()["id"]
        assert (await api.post(f"/v1/journeys/{journey_id}/publish")).status_code == 200
        write = basic(workspace.write_key)
        identify = {"userId": "u-bob", "traits": {"email": "bob@example.test", "first_name": "Bob"}}
        assert (await api.post("/v1/identify", json=identify, headers=write)).status_code == 200
        assert (await api.post("/v1/track", json={"userId": "u-bob", "event": "Signed Up"}, headers=write)).is_success
        contact_id = (await api.get("/v1/contacts/lookup", params={"external_id": "u-bob"})).json()["id"]

        async def status() -> str:
            answer = await api.get(f"/v1/journeys/{journey_id}/contacts/{contact_id}")
            return str(answer.json()["state"]["status"]) if answer.status_code == 200 else ""

        await _eventually(status, lambda s: s == "failed", "failed")

        async def open_kinds() -> list[str]:
            listed = (await api.get("/v1/dead-letters", params={"status": "open"})).json()["data"]
            return sorted(item["kind"] for item in listed)

        await _eventually(open_kinds, lambda kinds: kinds == ["journey_step", "send"], "both dead letters")
        [journey_letter] = (await api.get("/v1/dead-letters", params={"kind": "journey_step"})).json()["data"]
        assert journey_letter["input"]["step_id"] == "welcome"
        old = (await api.get(f"/v1/journeys/{journey_id}/dead-letters")).json()["data"]  # the journey's own list
        assert [(d["id"], d["step_id"], d["error_type"]) for d in old] == [
            (journey_letter["id"], "welcome", "JourneyStepFailed")
        ]

        smtp.refused.clear()
        replay = await api.post("/v1/dead-letters/replay", json={"kind": "journey_step"})
        assert [o["action"] for o in replay.json()["outcomes"]] == ["replayed"], replay.text
        await _eventually(status, lambda s: s == "completed", "completed")
        await smtp.wait_for(1)
        assert await open_kinds() == []  # the step's send dead letter was replayed with it
        await asyncio.sleep(1.0)
        assert len(smtp.messages) == 1
        assert smtp.messages[0]["Subject"] == "Welcome Bob"
