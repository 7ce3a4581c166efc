"""An abandoned-cart journey for 1,000 contacts end to end, with its real 2-hour timeout.

The real API (journey create + publish, Segment-compatible `/v1/batch` with the write key), the real dispatcher and
worker, an SMTP sink on loopback: all against the time-skipping test server, so that the timeout elapses when the
test skips two hours (`skipping_stack.skip`) instead of after two hours. Half of the contacts (the even ones)
complete their order before the skip and leave the journey; each of the others must get exactly one reminder, and
no purchaser any.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from domain.journeys.runtime import JourneyResult, journey_workflow_id
from store.db import create_async_db_engine, session_factory
from store.models import Contact, MessageLog
from store.workspaces import NewWorkspace
from tests.e2e.conftest import SkippingStack
from tests.e2e.test_journey_e2e import count, journey_state
from tests.servers import SmtpSink

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

CONTACTS = 1_000
BATCH = 100
ABANDONED_CART: dict[str, Any] = {
    "trigger": {"event": "Cart Abandoned"},
    "start": "await_order",
    "steps": [
        {
            "id": "await_order",
            "type": "wait_for_event",
            "event": "Order Completed",
            "timeout": "PT2H",
            "on_event": "purchased",
            "on_timeout": "reminder",
        },
        {"id": "purchased", "type": "end"},
        {
            "id": "reminder",
            "type": "send_email",
            "subject": "You left something in your cart, {{ contact.first_name }}",
            "text": "Your cart is waiting.",
            "next": "done",
        },
        {"id": "done", "type": "end"},
    ],
}


def email(index: int) -> str:
    return f"cart{index}@shop.example.test"


def purchases(index: int) -> bool:
    return index % 2 == 0


def message(kind: str, index: int, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "userId": f"cart-{index}",
        "messageId": str(uuid.uuid4()),
        "timestamp": datetime.now(UTC).isoformat(),
        **fields,
    }


async def ingest(api: httpx.AsyncClient, write_key: str, messages: list[dict[str, Any]]) -> None:
    auth = {"Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()}
    for start in range(0, len(messages), BATCH):
        response = await api.post("/v1/batch", json={"batch": messages[start : start + BATCH]}, headers=auth)
        assert response.status_code == 200, response.text


async def contact_ids(database_url: str, workspace_id: str) -> dict[int, str]:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            rows = (await session.execute(select(Contact).where(col(Contact.workspace_id) == workspace_id))).scalars()
            return {int(str(c.external_id).removeprefix("cart-")): c.id for c in rows}
    finally:
        await engine.dispose()


async def states_reach(
    api: httpx.AsyncClient, journey_id: str, contacts: dict[int, str], **expected: Any
) -> dict[int, dict[str, Any]]:
    """Every contact's journey state once it shows `expected` (asked 20 at a time through the API)."""
    gate = asyncio.Semaphore(20)

    async def one(contact_id: str) -> dict[str, Any]:
        async with gate:
            for _ in range(600):
                state = await journey_state(api, journey_id, contact_id)
                if all(state.get(k) == v for k, v in expected.items()):
                    return state
                await asyncio.sleep(0.1)
        raise AssertionError(f"contact {contact_id} never reached {expected}: {state}")

    states = await asyncio.gather(*(one(cid) for cid in contacts.values()))
    return dict(zip(contacts, states, strict=True))


async def ends(
    stack: SkippingStack, workspace: NewWorkspace, journey_id: str, contacts: dict[int, str]
) -> set[tuple[str | None, int]]:
    """How the contacts' runs ended: (last step, steps run). From Temporal: the test server answers no query of a
    closed workflow, so the API's state of a finished run carries no history there. Awaiting a result would let
    the test server skip time: not here."""
    client = stack.env.client
    with stack.env.auto_time_skipping_disabled():
        results = [
            await client.get_workflow_handle(
                journey_workflow_id(workspace.workspace.id, journey_id, cid), result_type=JourneyResult
            ).result()
            for cid in contacts.values()
        ]
    return {(result.last_step, result.steps_run) for result in results}


async def test_abandoned_carts_get_one_reminder_unless_the_order_came(
    skipping_stack: SkippingStack, workspace: NewWorkspace, smtp: SmtpSink, database_url: str
) -> None:
    headers = {"Authorization": f"Bearer {workspace.api_key}"}
    async with httpx.AsyncClient(base_url=skipping_stack.url, headers=headers, timeout=30) as api:
        created = await api.post("/v1/journeys", json={"name": "Abandoned cart", "definition": ABANDONED_CART})
        assert created.status_code == 201, created.text
        journey_id = created.json()["id"]
        assert (await api.post(f"/v1/journeys/{journey_id}/publish")).status_code == 200

        people = [
            message("identify", i, traits={"email": email(i), "firstName": f"Shopper{i}"}) for i in range(CONTACTS)
        ]
        await ingest(api, workspace.write_key, people)
        carts = [message("track", i, event="Cart Abandoned", properties={"total": 42.5}) for i in range(CONTACTS)]
        await ingest(api, workspace.write_key, carts)

        contacts = await contact_ids(database_url, workspace.workspace.id)
        assert sorted(contacts) == list(range(CONTACTS))
        # Every journey stands in its wait (its 2-hour timer started) before any order comes or time is skipped.
        await states_reach(api, journey_id, contacts, waiting_for_event="Order Completed")

        orders = [
            message("track", i, event="Order Completed", properties={"total": 42.5}) for i in contacts if purchases(i)
        ]
        await ingest(api, workspace.write_key, orders)
        buyers = {i: cid for i, cid in contacts.items() if purchases(i)}
        await states_reach(api, journey_id, buyers, status="completed")
        assert await ends(skipping_stack, workspace, journey_id, buyers) == {("purchased", 2)}
        assert smtp.messages == []  # the two hours have not passed: nobody is reminded yet

        await skipping_stack.skip(timedelta(hours=2, minutes=1))

        stragglers = {i: cid for i, cid in contacts.items() if not purchases(i)}
        await smtp.wait_for(len(stragglers), timeout=180)
        await states_reach(api, journey_id, stragglers, status="completed")
        assert await ends(skipping_stack, workspace, journey_id, stragglers) == {("done", 3)}

    await asyncio.sleep(1.0)  # a duplicate still on its way would land now
    received = Counter(to for _sender, recipients in smtp.envelopes for to in recipients)
    assert received == Counter({email(i): 1 for i in stragglers})
    assert not any(email(i) in received for i in buyers)
    assert all(m["Subject"].startswith("You left something in your cart, Shopper") for m in smtp.messages)
    assert await count(database_url, MessageLog, workspace_id=workspace.workspace.id, status="sent") == len(stragglers)
