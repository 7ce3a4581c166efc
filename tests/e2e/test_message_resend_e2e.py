"""Resending an uncertain message through the API, on the real worker, dev server and an SMTP relay: the email
really goes out, once, even when the operator's POST arrives twice."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import select
from sqlmodel import col

from domain.ids import new_id
from store.db import create_async_db_engine, session_factory
from store.models import Contact, Journey, JourneyEnrollment, JourneyVersion, MessageLog
from store.workspaces import NewWorkspace
from tests.servers import SmtpSink

DEFINITION = {
    "trigger": {"event": "Signed Up"},
    "start": "hello",
    "steps": [{"id": "hello", "type": "send_email", "subject": "Hello {{ contact.first_name }}", "text": "Hi."}],
}


async def uncertain_message(database_url: str, workspace_id: str) -> MessageLog:
    """What a worker killed while a provider had the message leaves: an enrolled contact, an uncertain row."""
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            journey = Journey(id=new_id("jr"), workspace_id=workspace_id, name="j", definition=DEFINITION)
            contact = Contact(id=new_id("ct"), workspace_id=workspace_id, email="ada@example.test", first_name="Ada")
            session.add_all([journey, contact])
            await session.flush()
            workflow_id = f"journey:{workspace_id}:{journey.id}:{contact.id}"
            row = MessageLog(
                id=new_id("msg"), workspace_id=workspace_id, idempotency_key=f"{workflow_id}:hello",
                journey_id=journey.id, contact_id=contact.id, step_id="hello", to_address="ada@example.test",
                status="uncertain", error="an earlier attempt stopped while a provider had the message",
            )  # fmt: skip
            session.add_all([
                JourneyVersion(workspace_id=workspace_id, journey_id=journey.id, version=1, definition=DEFINITION,
                               trigger_event="Signed Up"),
                JourneyEnrollment(workspace_id=workspace_id, journey_id=journey.id, contact_id=contact.id, version=1,
                                  workflow_id=workflow_id, trigger_event_id="ev_1"),
                row,
            ])  # fmt: skip
            await session.commit()
            return row
    finally:
        await engine.dispose()


async def status_of(database_url: str, message_id: str) -> str:
    engine = create_async_db_engine(database_url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(select(col(MessageLog.status)).where(col(MessageLog.id) == message_id))
            return str(result.scalar_one())
    finally:
        await engine.dispose()


async def test_resend_delivers_the_uncertain_message_exactly_once_when_posted_twice(
    base_url: str, database_url: str, workspace: NewWorkspace, smtp: SmtpSink
) -> None:
    row = await uncertain_message(database_url, workspace.workspace.id)
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    url = f"/v1/messages/{row.id}/resolve"
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as http:
        answers = await asyncio.gather(*(http.post(url, json={"action": "resend"}) for _ in range(2)))
        await smtp.wait_for(1, timeout=30)
        for _ in range(100):
            if await status_of(database_url, row.id) == "sent":
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # a second copy would have arrived by now
        again = await http.post(url, json={"action": "resend"})
        read = await http.get(f"/v1/messages/{row.id}")

    assert sorted(a.status_code for a in answers)[0] == 202, [a.text for a in answers]
    assert {a.status_code for a in answers} <= {202, 409}
    assert len(smtp.messages) == 1, "resent once, not once per POST"
    assert smtp.messages[0]["To"] == "ada@example.test"
    assert smtp.messages[0]["Subject"] == "Hello Ada"
    assert read.json()["status"] == "sent"
    assert again.status_code in (202, 409)
    assert len(smtp.messages) == 1
