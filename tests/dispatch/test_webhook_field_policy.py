"""Outbound webhook payloads obey field policies: an endpoint created by a key acting as a role gets contact
payloads read under that role's policy (masked email, no hidden phone or attribute); an endpoint with no role gets
the contact whole. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from temporalio.client import Client

from dispatch.webhooks import WebhookConsumer
from domain.access.fields import FieldPolicy
from domain.clock import utcnow
from domain.events.interest import OutboxKind
from domain.ids import new_id
from mauntic.temporal import TemporalGateway
from store.field_policies import put_field_policy
from store.models import Contact
from store.models_webhooks import WebhookDelivery, WebhookEndpoint
from store.outbox import OutboxEvent, OutboxRow
from store.workspaces import NewWorkspace
from tests.conftest import make_settings
from tests.dispatch.test_webhook_consumer import sessions

__all__ = ["sessions"]  # the fixture, shared


async def test_contact_payloads_are_read_under_the_endpoints_role(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace, database_url: str, temporal_client: Client
) -> None:
    ws = workspace.workspace.id
    contact = Contact(
        id=new_id("ct"), workspace_id=ws, email="jane@example.com", phone="+33612345678", first_name="Jane",
        attributes={"ssn": "123", "plan": "pro"},
    )  # fmt: skip
    endpoints = {
        role: WebhookEndpoint(
            id=new_id("whep"),
            workspace_id=ws,
            url="http://127.0.0.1:9/hook",
            event_types=["contact.created"],
            secret_encrypted="x",
            role=role,
        )
        for role in ("analyst", None)
    }
    async with sessions() as session:
        session.add(contact)
        session.add_all(endpoints.values())
        policy = FieldPolicy.parse({"email": "masked", "phone": "hidden", "attributes.ssn": "hidden"})
        await put_field_policy(session, ws, "analyst", policy)
        await session.commit()

    settings = make_settings(database_url)
    consumer = WebhookConsumer(sessions, settings, TemporalGateway(settings, temporal_client))
    row = OutboxRow(1, OutboxEvent(ws, contact.id, "ev_1", "created", {}, utcnow(), OutboxKind.CONTACT), 0)
    await consumer.consume([row])

    async with sessions() as session:
        found = (
            await session.execute(select(WebhookDelivery).where(col(WebhookDelivery.workspace_id) == ws))
        ).scalars()
        bodies = {d.endpoint_id: json.loads(d.body)["data"]["contact"] for d in found}
    restricted = bodies[endpoints["analyst"].id]
    assert restricted["email"] == "j***@example.com"
    assert "phone" not in restricted
    assert restricted["attributes"] == {"plan": "pro"}
    whole = bodies[endpoints[None].id]
    assert (whole["email"], whole["phone"], whole["attributes"]["ssn"]) == ("jane@example.com", "+33612345678", "123")
