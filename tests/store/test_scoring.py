"""Scoring in the store, on SQLite and PostgreSQL: grants, caps, property filters, decay in SQL equal to the pure
reference, and real-time updates agreeing exactly with a batch recompute."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from domain.events.interest import OutboxKind
from domain.scoring.decay import MICRO, decayed
from domain.scoring.rules import RuleSpec, ThresholdSpec
from store.models import ContactScore, DispatchOutbox
from store.models_scoring import ScoreAlert
from store.scoring_apply import SCORES, contact_ids, event_ids, grant_events, refresh_scores
from store.scoring_recompute import recompute_chunk
from store.scoring_rules import create_rule, create_threshold, load_scoring
from store.scoring_sql import LEDGER, decayed_value
from store.workspaces import NewWorkspace
from tests.store.scoring_support import add_contacts, add_events

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def _scores(session: AsyncSession, workspace_id: str) -> dict[tuple[str, str], float]:
    s = SCORES.c
    rows = await session.execute(select(s.contact_id, s.score_group, s.score).where(s.workspace_id == workspace_id))
    return {(c, g): v for c, g, v in rows}


async def test_decay_in_sql_equals_the_pure_reference(
    db: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    rng = random.Random(9)
    ws = workspace.workspace.id
    cases = [
        (rng.randint(-50 * MICRO, 50 * MICRO), rng.randint(0, 24 * 400), rng.choice([None, 1, 7, 24, 24 * 30]))
        for _ in range(300)
    ]
    reference = 500_000
    async with db() as session:
        await session.execute(
            insert(LEDGER),
            [
                {
                    "workspace_id": ws, "contact_id": f"d{i}", "score_group": "g", "rule_id": "r_decay",
                    "event_id": f"e{i}", "points_micro": p, "granted_hour": reference - age,
                    "half_life_hours": h, "cap_window": None, "reason": "t", "created_at": NOW,
                }
                for i, (p, age, h) in enumerate(cases)
            ],
        )  # fmt: skip
        rows = await session.execute(
            select(LEDGER.c.event_id, decayed_value(reference)).where(LEDGER.c.rule_id == "r_decay")
        )
        got = {eid: int(v) for eid, v in rows}
        await session.rollback()
    assert got == {f"e{i}": decayed(p, age, h) for i, (p, age, h) in enumerate(cases)}
    assert decayed(8 * MICRO, 24, 24) == 4 * MICRO  # one half-life halves
    assert decayed(8 * MICRO, 48, 24) == 2 * MICRO


async def _setup(session: AsyncSession, ws: str) -> list[str]:
    await create_rule(
        session, ws,
        RuleSpec.model_validate(dict(name="pricing", group="interest", points=5, event="page_viewed",
                 where=[{"property": "path", "op": "eq", "value": "/pricing"}],
                 cap={"points": 12, "window_hours": 24}, half_life_hours=48)),
        NOW,
    )  # fmt: skip
    await create_rule(
        session, ws,
        RuleSpec.model_validate(dict(name="big order", group="engagement", points=2.5, event="order",
                 where=[{"property": "amount", "op": "gte", "value": 100}])),
        NOW,
    )  # fmt: skip
    await create_threshold(session, ws, ThresholdSpec(group="total", value=10), NOW)
    contacts = await add_contacts(session, ws, 6)
    rng = random.Random(4)
    rows: list[tuple[str, str, dict[str, object], datetime]] = []
    for _ in range(80):
        contact = rng.choice(contacts)
        when = NOW - timedelta(hours=rng.randint(0, 24 * 6), minutes=rng.randint(0, 59))
        if rng.random() < 0.6:
            rows.append((contact, "page_viewed", {"path": rng.choice(["/pricing", "/blog", "/pricing"])}, when))
        else:
            rows.append((contact, "order", {"amount": rng.choice([50, 100, 250.5, "300"])}, when))
    rows.sort(key=lambda r: r[3])  # ingestion order = time order
    return await add_events(session, ws, rows)


async def test_real_time_and_recompute_agree_exactly(
    db: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    async with db() as session:
        ids = await _setup(session, ws)
        await session.commit()
        scoring = await load_scoring(session, ws)
    # real time: batches of 7 events as the dispatcher would hand them over, then one refresh at NOW
    for start in range(0, len(ids), 7):
        async with db() as session:
            batch = ids[start : start + 7]
            await grant_events(session, ws, scoring.event_rules, event_ids(batch), NOW)
            rows = await session.execute(select(LEDGER.c.contact_id).where(LEDGER.c.event_id.in_(batch)))
            await refresh_scores(session, ws, scoring, contact_ids(list(rows.scalars())), NOW)
            await session.commit()
    async with db() as session:
        # a replayed batch (at-least-once) grants nothing twice
        await grant_events(session, ws, scoring.event_rules, event_ids(ids), NOW)
        await session.commit()
        ledger_before = (
            await session.execute(
                select(LEDGER.c.event_id, LEDGER.c.rule_id, LEDGER.c.points_micro).where(LEDGER.c.workspace_id == ws)
            )
        ).all()
        contacts = {c for c, _ in (await _scores(session, ws))}
        await refresh_scores(session, ws, scoring, contact_ids(sorted(contacts)), NOW)
        await session.commit()
        real_time = await _scores(session, ws)
    assert real_time, "some contact scored"
    # caps: no contact got more than 12 points of "pricing" in one 24-hour window
    windows: dict[tuple[str, int], int] = {}
    async with db() as session:
        for contact, window, points in await session.execute(
            select(LEDGER.c.contact_id, LEDGER.c.cap_window, LEDGER.c.points_micro).where(
                LEDGER.c.workspace_id == ws, LEDGER.c.cap_window.is_not(None)
            )
        ):
            windows[(contact, window)] = windows.get((contact, window), 0) + points
    assert windows
    assert max(windows.values()) <= 12 * MICRO
    assert any(v == 12 * MICRO for v in windows.values()), "the cap was reached somewhere"
    # recompute in chunks of 4 contacts at the same reference time: the same ledger, the same scores
    after = None
    async with db() as session:
        while True:
            chunk = await recompute_chunk(session, ws, scoring, after, 4, NOW)
            if chunk.last_contact_id is None:
                break
            after = chunk.last_contact_id
        recomputed = await _scores(session, ws)
        ledger_after = (
            await session.execute(
                select(LEDGER.c.event_id, LEDGER.c.rule_id, LEDGER.c.points_micro).where(LEDGER.c.workspace_id == ws)
            )
        ).all()
    assert recomputed == real_time
    assert sorted(ledger_after) == sorted(ledger_before)
    for (contact, group), value in real_time.items():
        if group == "total":
            parts = [v for (c, g), v in real_time.items() if c == contact and g != "total"]
            assert round(sum(parts), 6) == value


async def test_crossing_opens_an_alert_and_queues_score_crossed(
    db: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    async with db() as session:
        await create_rule(session, ws, RuleSpec(name="demo", group="interest", points=6, event="demo_requested"), NOW)
        await create_threshold(session, ws, ThresholdSpec(group="interest", value=10, alert_ttl_hours=2), NOW)
        [contact] = await add_contacts(session, ws, 1, prefix="x")
        first = await add_events(session, ws, [(contact, "demo_requested", {}, NOW)])
        await session.commit()
        scoring = await load_scoring(session, ws)
        await grant_events(session, ws, scoring.event_rules, event_ids(first), NOW)
        assert await refresh_scores(session, ws, scoring, contact_ids([contact]), NOW) == []
        second = await add_events(session, ws, [(contact, "demo_requested", {}, NOW)])
        await grant_events(session, ws, scoring.event_rules, event_ids(second), NOW)
        [crossing] = await refresh_scores(session, ws, scoring, contact_ids([contact]), NOW)
        await session.commit()
        assert (crossing.previous, crossing.score, crossing.direction) == (6.0, 12.0, "up")
        alert = (await session.execute(select(ScoreAlert).where(col(ScoreAlert.contact_id) == contact))).scalar_one()
        assert alert.expires_at == NOW + timedelta(hours=2)
        rows = (
            await session.execute(select(DispatchOutbox).where(col(DispatchOutbox.contact_id) == contact))
        ).scalars()
        kinds = {(r.kind, r.name) for r in rows}
        assert (OutboxKind.SCORE_CROSSED, "interest") in kinds
        assert (OutboxKind.ALERT_OPENED, "interest") in kinds
        score = await session.get(ContactScore, (ws, contact, "total"))
        assert score is not None
        assert score.score == 12.0
