"""Attribute rules on both databases: points while a contact matches, removed when it stops matching; what the
scoring interest source asks ingestion to queue."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.scoring import ScoringConsumer
from domain.events.interest import OutboxKind
from domain.scoring.rules import RuleSpec
from mauntic.settings import Settings
from store.outbox import OutboxEvent, OutboxRow
from store.scoring_apply import CONTACTS, SCORES
from store.scoring_rules import create_rule, scoring_interest
from store.scoring_sql import LEDGER
from store.workspaces import NewWorkspace
from tests.store.scoring_support import add_contacts

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _changed(workspace_id: str, contact_id: str, n: int) -> OutboxRow:
    event = OutboxEvent(workspace_id, contact_id, f"chg-{n}", "updated", {}, NOW, OutboxKind.CONTACT)
    return OutboxRow(n, event, 0)


async def test_attribute_rules_hold_while_the_contact_matches(
    db: async_sessionmaker[AsyncSession], workspace: NewWorkspace, database_url: str
) -> None:
    ws = workspace.workspace.id
    async with db() as session:
        assert (await scoring_interest(session, ws)).names == frozenset()
        rule = RuleSpec.model_validate(
            {"name": "Pro plan", "group": "fit", "points": 10,
             "attributes": [{"property": "plan", "op": "eq", "value": "pro"}]}
        )  # fmt: skip
        await create_rule(session, ws, rule, NOW)
        await create_rule(session, ws, RuleSpec(name="v", group="interest", points=1, event="Viewed"), NOW)
        pro, free = await add_contacts(session, ws, 2, prefix="attr")
        await session.execute(update(CONTACTS).where(CONTACTS.c.id == pro).values(attributes={"plan": "pro"}))
        await session.commit()
        interest = await scoring_interest(session, ws)
    assert interest.names == frozenset({"Viewed"})
    assert interest.contacts is True
    consumer = ScoringConsumer(db, Settings(database_url=database_url))
    await consumer.consume([_changed(ws, pro, 1), _changed(ws, free, 2)])

    async def scores() -> dict[tuple[str, str], float]:
        async with db() as session:
            s = SCORES.c
            rows = await session.execute(select(s.contact_id, s.score_group, s.score).where(s.workspace_id == ws))
            return {(c, g): v for c, g, v in rows}

    assert await scores() == {(pro, "fit"): 10.0, (pro, "total"): 10.0}
    await consumer.consume([_changed(ws, pro, 3)])  # again: nothing twice
    assert await scores() == {(pro, "fit"): 10.0, (pro, "total"): 10.0}
    async with db() as session:
        await session.execute(update(CONTACTS).where(CONTACTS.c.id == pro).values(attributes={"plan": "free"}))
        await session.commit()
    await consumer.consume([_changed(ws, pro, 4)])
    assert await scores() == {}
    async with db() as session:
        left = await session.execute(select(LEDGER.c.id).where(LEDGER.c.workspace_id == ws))
        assert list(left) == []
