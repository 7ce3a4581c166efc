"""An outbox row the dispatcher parks is a dead letter (kind dispatch) recorded with the parking; replaying it
un-parks the row (attempts reset) and the next batch applies it; discarding deletes it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.dispatcher import MAX_ATTEMPTS
from domain.dead_letters.model import DeadLetterKind
from mauntic.dead_letters.service import DeadLetterService
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.dead_letters import DeadLetterFilter, list_dead_letters
from store.models import DeadLetter
from tests.dispatch.test_dispatcher import RecordingRouter, dispatcher, make_due, queue, rows

Sessions = async_sessionmaker[AsyncSession]


async def park(sessions: Sessions, settings: Settings, router: RecordingRouter) -> None:
    for _ in range(MAX_ATTEMPTS):
        await dispatcher(sessions, settings, router).drain_once()
        await make_due(sessions)


async def dead_letters(sessions: Sessions) -> list[DeadLetter]:
    async with sessions() as session:
        return await list_dead_letters(session, DeadLetterFilter(workspace_id="ws_test", kind=DeadLetterKind.DISPATCH))


async def test_a_parked_row_is_a_dead_letter_and_replaying_it_gets_it_applied(
    sessions: Sessions, settings: Settings
) -> None:
    router = RecordingRouter(sessions, settings)
    router.fail_always["d1"] = ValueError("a bug in the consumer")
    await queue(sessions, [("d", "d1")])
    await park(sessions, settings, router)
    [parked] = await rows(sessions)
    assert parked.parked_at is not None

    [letter] = [d for d in await dead_letters(sessions) if d.subject_id == f"{parked.id}:{parked.event_id}"]
    assert (letter.status, letter.attempts, letter.error_type) == ("open", MAX_ATTEMPTS, "ValueError")
    assert "a bug in the consumer" in letter.error
    assert letter.input == {"outbox_id": parked.id, "event_id": "d1", "contact_id": "d", "kind": "event",
                            "name": "Clicked"}  # fmt: skip

    router.fail_always.clear()  # the bug is fixed
    service = DeadLetterService(TemporalGateway(settings))  # a dispatch replay needs no Temporal
    async with sessions() as session:
        selected = await service.select(session, DeadLetterFilter(ids=[letter.id or 0]))
        dry = await service.replay(session, selected, actor="test", dry_run=True)
        assert [(o.action, o.detail) for o in dry] == [("would_replay", f"would un-park outbox row {parked.id}")]
        assert (await rows(sessions))[0].parked_at is not None  # a dry run changes nothing
        [outcome] = await service.replay(session, selected, actor="test", dry_run=False)
    assert outcome.action == "replayed"
    [unparked] = await rows(sessions)
    assert (unparked.parked_at, unparked.attempts) == (None, 0)

    await dispatcher(sessions, settings, router).drain_once()
    assert router.made == [("d", "d1")]
    assert await rows(sessions) == []
    [replayed] = [d for d in await dead_letters(sessions) if d.id == letter.id]
    assert (replayed.status, replayed.resolved_by) == ("replayed", "test")
    assert replayed.resolution == f"outbox row {parked.id} un-parked: the dispatchers apply it again"


async def test_discarding_a_parked_row_deletes_it(sessions: Sessions, settings: Settings) -> None:
    router = RecordingRouter(sessions, settings)
    router.fail_always["x1"] = ValueError("poison")
    await queue(sessions, [("x", "x1")])
    await park(sessions, settings, router)
    [parked] = await rows(sessions)
    [letter] = [d for d in await dead_letters(sessions) if d.subject_id == f"{parked.id}:{parked.event_id}"]
    service = DeadLetterService(TemporalGateway(settings))
    async with sessions() as session:
        [outcome] = await service.discard(
            session, await service.select(session, DeadLetterFilter(ids=[letter.id or 0])), actor="t", dry_run=False
        )
    assert outcome.action == "discarded"
    assert await rows(sessions) == []
