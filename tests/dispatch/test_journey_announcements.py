"""journey.entered and journey.completed at the dispatcher: an entry of a workspace with an endpoint subscribed to
journey.entered writes one journey_entered outbox row in the enrollment's transaction (none when the same rows are
routed again), and a start of a workspace taking journey.completed asks the run to announce it; a workspace without
endpoints gets neither."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from dispatch.journeys import Enter, JourneyRouter
from domain.clock import utcnow
from domain.events.interest import OutboxKind
from domain.ids import new_id
from mauntic.temporal import TemporalGateway
from store.models import Contact, DispatchOutbox, Journey, JourneyVersion
from store.models_webhooks import WebhookEndpoint
from store.outbox import OutboxEvent, OutboxRow
from store.workspaces import NewWorkspace
from tests.conftest import make_settings

Sessions = async_sessionmaker[AsyncSession]
DEFINITION: dict[str, Any] = {
    "trigger": {"event": "Signed Up"}, "start": "done", "steps": [{"id": "done", "type": "end"}],
}  # fmt: skip


async def _seed(sessions: Sessions, ws: str, types: list[str]) -> tuple[str, str]:
    async with sessions() as session:
        journey = Journey(
            id=new_id("jr"), workspace_id=ws, name="j", definition=DEFINITION, status="published", published_version=1
        )
        contact = Contact(id=new_id("ct"), workspace_id=ws, email="a@example.test")
        session.add_all([journey, contact])
        await session.flush()
        session.add(JourneyVersion(workspace_id=ws, journey_id=journey.id, version=1, definition=DEFINITION,
                                   trigger_event="Signed Up"))  # fmt: skip
        if types:
            session.add(WebhookEndpoint(id=new_id("whep"), workspace_id=ws, url="https://h.example.com/",
                                        event_types=types, secret_encrypted="x"))  # fmt: skip
        await session.commit()
    return journey.id, contact.id


async def _entered(sessions: Sessions, ws: str) -> list[DispatchOutbox]:
    async with sessions() as session:
        query = select(DispatchOutbox).where(
            col(DispatchOutbox.workspace_id) == ws, col(DispatchOutbox.kind) == OutboxKind.JOURNEY_ENTERED
        )
        return list((await session.execute(query)).scalars())


def _signed_up(ws: str, contact_id: str) -> list[OutboxRow]:
    return [OutboxRow(1, OutboxEvent(ws, contact_id, new_id("ev"), "Signed Up", {}, utcnow()), 0)]


async def test_a_subscribed_entry_is_announced_once(
    sessions: Sessions, workspace: NewWorkspace, database_url: str
) -> None:
    ws = workspace.workspace.id
    journey_id, contact_id = await _seed(sessions, ws, ["journey.entered", "journey.completed"])
    router = JourneyRouter(sessions, TemporalGateway(make_settings(database_url)), eager_start=False)
    rows = _signed_up(ws, contact_id)
    routed = await router.route(rows)
    await router.route(rows)  # redelivered: the enrollment exists, nothing is announced again
    [row] = await _entered(sessions, ws)
    assert (row.event_id, row.name, row.contact_id) == (f"{journey_id}:{contact_id}", journey_id, contact_id)
    assert row.properties["workflow_id"] == f"journey:{ws}:{journey_id}:{contact_id}"
    [(_, [call])] = routed.by_contact[contact_id]
    assert isinstance(call, Enter)
    assert (await router.start_input(call)).announce_completion


async def test_a_workspace_without_endpoints_announces_nothing(
    sessions: Sessions, workspace: NewWorkspace, database_url: str
) -> None:
    ws = workspace.workspace.id
    _, contact_id = await _seed(sessions, ws, [])
    router = JourneyRouter(sessions, TemporalGateway(make_settings(database_url)), eager_start=False)
    routed = await router.route(_signed_up(ws, contact_id))
    assert await _entered(sessions, ws) == []
    [(_, [call])] = routed.by_contact[contact_id]
    assert isinstance(call, Enter)
    assert not (await router.start_input(call)).announce_completion
