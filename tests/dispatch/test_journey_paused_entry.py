"""A contact entering a paused journey starts with its sends held (JourneyInput.paused), and one entering after
the resume does not: the dispatcher reads the journey's paused mark with its published versions."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.journeys import Enter, JourneyRouter
from domain.clock import utcnow
from domain.ids import new_id
from mauntic.temporal import TemporalGateway
from store.models import Contact, Journey
from store.workspaces import NewWorkspace
from tests.conftest import make_settings
from tests.dispatch.test_journey_announcements import _seed, _signed_up

Sessions = async_sessionmaker[AsyncSession]


async def _set_paused(sessions: Sessions, journey_id: str, paused: bool) -> None:
    async with sessions() as session:
        journey = await session.get(Journey, journey_id)
        assert journey is not None
        journey.paused_at = utcnow() if paused else None
        session.add(journey)
        await session.commit()


async def _entering(router: JourneyRouter, sessions: Sessions, ws: str) -> Enter:
    async with sessions() as session:
        contact = Contact(id=new_id("ct"), workspace_id=ws, email=f"{new_id('a')}@example.test")
        session.add(contact)
        await session.commit()
    routed = await router.route(_signed_up(ws, contact.id))
    [(_, [call])] = routed.by_contact[contact.id]
    assert isinstance(call, Enter)
    return call


async def test_entries_while_paused_start_held_and_entries_after_the_resume_do_not(
    sessions: Sessions, workspace: NewWorkspace, database_url: str
) -> None:
    ws = workspace.workspace.id
    journey_id, _ = await _seed(sessions, ws, [])
    router = JourneyRouter(sessions, TemporalGateway(make_settings(database_url)), eager_start=False)

    await _set_paused(sessions, journey_id, True)
    router.forget(ws)  # what the pause route's wake-up does in a dispatcher
    assert (await router.start_input(await _entering(router, sessions, ws))).paused

    await _set_paused(sessions, journey_id, False)
    router.forget(ws)
    assert not (await router.start_input(await _entering(router, sessions, ws))).paused
