"""Dispatcher consumers (dispatch/consumers.py) against a real database: they see every row of a batch in order,
before journeys, and a row a consumer cannot take is retried alone, holding back only its own contact."""

from __future__ import annotations

from collections.abc import Sequence

from dispatch.dispatcher import Dispatcher
from domain.clock import utcnow
from domain.events.interest import OutboxKind
from mauntic.settings import Settings
from store.outbox import OutboxEvent, OutboxRow, enqueue
from store.outbox_wake import CHANGED_PREFIX
from tests.dispatch.test_dispatcher import RecordingRouter, Sessions, make_due, rows


class RecordingConsumer:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []  # (kind, event id), as consumed
        self.fail_once: set[str] = set()
        self.forgotten: list[str] = []

    async def consume(self, rows: Sequence[OutboxRow]) -> None:
        bad = [r.event.event_id for r in rows if r.event.event_id in self.fail_once]
        if bad:
            if len(rows) == 1:
                self.fail_once.discard(bad[0])
            raise ValueError(f"cannot take {bad[0]}")
        self.seen.extend((r.event.kind, r.event.event_id) for r in rows)

    def forget(self, workspace_id: str) -> None:
        self.forgotten.append(workspace_id)


def with_consumer(
    sessions: Sessions, settings: Settings, router: RecordingRouter, consumer: RecordingConsumer
) -> Dispatcher:
    return Dispatcher(
        sessions,
        router,
        settings.resolved_database_url,
        consumers=[consumer],
        batch_size=500,
        concurrency=16,
        poll_seconds=0.05,
    )


async def test_a_consumer_sees_each_kind_in_order_before_journeys(sessions: Sessions, settings: Settings) -> None:
    now = utcnow()
    events = [
        OutboxEvent("ws_test", "a", "e1", "Clicked", {}, now),
        OutboxEvent("ws_test", "a", "e2", "updated", {}, now, OutboxKind.CONTACT),
        OutboxEvent("ws_test", "b", "e3", "seg_1", {"segment_id": "seg_1"}, now, OutboxKind.SEGMENT_ENTERED),
    ]
    async with sessions() as session:
        await enqueue(session, events, now)
        await session.commit()
    router, consumer = RecordingRouter(sessions, settings), RecordingConsumer()
    await with_consumer(sessions, settings, router, consumer).drain_once()
    assert consumer.seen == [("event", "e1"), ("contact", "e2"), ("segment_entered", "e3")]
    assert sorted(e for _, e in router.made) == ["e1", "e2", "e3"]
    assert await rows(sessions) == []


async def test_a_row_a_consumer_cannot_take_is_retried_alone(sessions: Sessions, settings: Settings) -> None:
    now = utcnow()
    pairs = [("a", "a1"), ("b", "b1"), ("a", "a2"), ("b", "b2")]
    async with sessions() as session:
        await enqueue(session, [OutboxEvent("ws_test", c, e, "Clicked", {}, now) for c, e in pairs], now)
        await session.commit()
    router, consumer = RecordingRouter(sessions, settings), RecordingConsumer()
    consumer.fail_once.add("a1")
    await with_consumer(sessions, settings, router, consumer).drain_once()
    assert [e for _, e in consumer.seen] == ["b1", "b2"]  # a1 failed alone; a2 waits behind it
    assert [(r.event_id, r.attempts) for r in await rows(sessions)] == [("a1", 1), ("a2", 0)]
    await make_due(sessions)
    await with_consumer(sessions, settings, router, consumer).drain_once()
    assert [e for _, e in consumer.seen] == ["b1", "b2", "a1", "a2"]
    assert await rows(sessions) == []


async def test_a_wakeup_naming_a_workspace_reaches_consumers(sessions: Sessions, settings: Settings) -> None:
    consumer = RecordingConsumer()
    dispatcher = with_consumer(sessions, settings, RecordingRouter(sessions, settings), consumer)
    dispatcher.wakeup.message(CHANGED_PREFIX + "ws_test")
    assert consumer.forgotten == ["ws_test"]
