"""Entry and exit policies end to end (API, dispatcher, worker, dev server): the API trigger under a burst of
duplicates, an intent trigger counted incrementally, re-entry with a cap, goals and exit criteria that end a
contact's run at once in the middle of a long wait, and a sequence that exits on a reply."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from store.models import JourneyEnrollment
from store.workspaces import NewWorkspace
from tests.api.ingest_support import basic
from tests.e2e.test_journey_e2e import count, wait_state
from tests.servers import SmtpSink

pytestmark = pytest.mark.e2e

LONG_WAIT = {"id": "rest", "type": "wait", "duration": "P5D", "next": "follow_up"}
FOLLOW_UP = {"id": "follow_up", "type": "send_email", "subject": "Following up", "text": "Still there?"}


def journey(trigger: dict[str, Any], **policies: Any) -> dict[str, Any]:
    hello = {"id": "hello", "type": "send_email", "subject": "Hello {{ contact.first_name }}", "text": "Hi",
             "next": "rest"}  # fmt: skip
    return {"trigger": trigger, "start": "hello", "steps": [hello, LONG_WAIT, FOLLOW_UP], **policies}


async def published(api: httpx.AsyncClient, definition: dict[str, Any]) -> str:
    created = await api.post("/v1/journeys", json={"name": "Policies", "definition": definition})
    assert created.status_code == 201, created.text
    journey_id: str = created.json()["id"]
    answer = await api.post(f"/v1/journeys/{journey_id}/publish")
    assert answer.status_code == 200, answer.text
    return journey_id


async def contact(api: httpx.AsyncClient, write_key: str, user_id: str, **traits: Any) -> str:
    identify = {"userId": user_id, "traits": {"email": f"{user_id}@example.test", "first_name": user_id, **traits}}
    assert (await api.post("/v1/identify", json=identify, headers=basic(write_key))).status_code == 200
    found = (await api.get("/v1/contacts/lookup", params={"external_id": user_id})).json()
    contact_id: str = found["id"]
    return contact_id


async def track(api: httpx.AsyncClient, write_key: str, user_id: str, event: str, **properties: Any) -> None:
    body = {"userId": user_id, "event": event, "properties": properties}
    assert (await api.post("/v1/track", json=body, headers=basic(write_key))).status_code == 200


async def test_a_burst_of_api_enrollments_starts_one_execution(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink, database_url: str
) -> None:
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        journey_id = await published(api, journey({"api": True}))
        ann = await contact(api, workspace.write_key, "ann")
        burst = [api.post(f"/v1/journeys/{journey_id}/enroll", json={"contact_id": ann}) for _ in range(20)]
        answers = await asyncio.gather(*burst)
        assert {a.status_code for a in answers} == {202}
        assert len({a.json()["workflow_id"] for a in answers}) == 1
        state = await wait_state(api, journey_id, ann, current_step="rest")
        assert state["history"][0]["outcome"] == "sent"
        missing = await api.post(f"/v1/journeys/{journey_id}/enroll", json={"contact_id": "ct_nobody"})
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "contact_not_found"
    await asyncio.sleep(1.0)
    assert [m["Subject"] for m in smtp.messages] == ["Hello ann"]
    assert await count(database_url, JourneyEnrollment, journey_id=journey_id) == 1


async def test_an_intent_enters_at_the_event_that_completes_the_pattern(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink
) -> None:
    intent = {"event": "Page Viewed", "where": [{"property": "path", "op": "eq", "value": "/pricing"}],
              "count": 3, "within": "P7D"}  # fmt: skip
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        journey_id = await published(api, journey({"intent": intent}))
        bo = await contact(api, workspace.write_key, "bo")
        for path in ("/pricing", "/docs", "/pricing"):
            await track(api, workspace.write_key, "bo", "Page Viewed", path=path)
        await asyncio.sleep(1.5)
        assert smtp.messages == []  # two pricing views of three
        enrolled = await api.get(f"/v1/journeys/{journey_id}/contacts/{bo}")
        assert enrolled.status_code == 404
        await track(api, workspace.write_key, "bo", "Page Viewed", path="/pricing")
        [email] = await smtp.wait_for(1)
        assert email["Subject"] == "Hello bo"
        await wait_state(api, journey_id, bo, current_step="rest")


async def test_a_goal_during_a_five_day_wait_converts_the_contact_at_once(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink
) -> None:
    goals = [{"id": "bought", "event": "Order Completed", "where": [{"property": "total", "op": "gt", "value": 0}]}]
    exits = [{"attribute": {"property": "plan", "op": "eq", "value": "churned"}}]
    definition = journey({"event": "Signed Up"}, goals=goals, exit_criteria=exits)
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        journey_id = await published(api, definition)
        cy = await contact(api, workspace.write_key, "cy")
        di = await contact(api, workspace.write_key, "di")
        for user in ("cy", "di"):
            await track(api, workspace.write_key, user, "Signed Up")
        await wait_state(api, journey_id, cy, current_step="rest")
        await wait_state(api, journey_id, di, current_step="rest")

        await track(api, workspace.write_key, "cy", "Order Completed", total=0)  # not the goal: filtered out
        await track(api, workspace.write_key, "cy", "Order Completed", total=42)
        state = await wait_state(api, journey_id, cy, status="converted")
        assert state["exit"]["kind"] == "goal"
        assert state["exit"]["goal_id"] == "bought"
        assert state["history"][-1]["step_id"] == "rest"
        assert state["history"][-1]["outcome"] == "goal"

        # An exit criterion on an attribute: a contact update through identify ends the run too.
        traits = {"userId": "di", "traits": {"plan": "churned"}}
        assert (await api.post("/v1/identify", json=traits, headers=basic(workspace.write_key))).status_code == 200
        state = await wait_state(api, journey_id, di, status="exited")
        assert state["exit"]["kind"] == "exit"
        assert "plan" in state["exit"]["reason"]
    assert sorted(m["Subject"] for m in smtp.messages) == ["Hello cy", "Hello di"]  # no follow-up for either


async def test_re_entry_after_exit_up_to_the_cap_and_a_sequence_exits_on_a_reply(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink, database_url: str
) -> None:
    once_more = {"mode": "after_exit", "max_entries": 2}
    hello = {"id": "hello", "type": "send_email", "subject": "Trial for {{ contact.first_name }}", "text": "Go"}
    quick = {"trigger": {"event": "Trial Started"}, "start": "hello", "reentry": once_more, "steps": [hello]}
    sequence = {**journey({"api": True}), "kind": "sequence"}
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        journey_id = await published(api, quick)
        ed = await contact(api, workspace.write_key, "ed")
        for n in (1, 2, 3):
            await track(api, workspace.write_key, "ed", "Trial Started", n=n)
            if n < 3:
                await smtp.wait_for(n)
                await wait_state(api, journey_id, ed, status="completed")
        await asyncio.sleep(1.5)
        assert [m["Subject"] for m in smtp.messages] == ["Trial for ed"] * 2  # the third entry is over the cap
        rows = await count(database_url, JourneyEnrollment, journey_id=journey_id)
        assert rows == 1

        sequence_id = await published(api, sequence)
        fay = await contact(api, workspace.write_key, "fay")
        assert (await api.post(f"/v1/journeys/{sequence_id}/enroll", json={"contact_id": fay})).status_code == 202
        await wait_state(api, sequence_id, fay, current_step="rest")
        await track(api, workspace.write_key, "fay", "Email Replied")
        state = await wait_state(api, sequence_id, fay, status="exited")
        assert "Email Replied" in state["exit"]["reason"]
