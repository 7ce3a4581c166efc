"""The segments consumer and companies: a company row re-evaluates the segments reading companies for that
company's contacts only (one set-based pass); a contact row re-evaluates them for the contact (a new link)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.segments import SegmentConsumer
from domain.clock import utcnow
from domain.events.interest import OutboxKind
from domain.ids import new_id
from domain.segments.filters import parse_filter, to_json
from store.models import Contact
from store.models_companies import Company
from store.models_segments import Segment
from store.outbox import OutboxEvent, OutboxRow
from store.segments import is_member
from tests.conftest import new_workspace

Sessions = async_sessionmaker[AsyncSession]
ENTERPRISE = {"company": {"field": "attributes.plan", "op": "eq", "value": "enterprise"}}
PRO = {"attribute": "plan", "op": "eq", "value": "pro"}


async def _consume(consumer: SegmentConsumer, *events: OutboxEvent) -> None:
    await consumer.consume([OutboxRow(i, e, 0) for i, e in enumerate(events)])


async def test_company_and_contact_rows_move_the_companys_contacts(sessions: Sessions, database_url: str) -> None:
    ws = (await new_workspace(database_url)).workspace.id
    acme, other = new_id("co"), new_id("co")
    ada, bob, cy = new_id("ct"), new_id("ct"), new_id("ct")
    enterprise, pros = new_id("sg"), new_id("sg")
    async with sessions() as session:
        session.add_all([
            Company(id=acme, workspace_id=ws, name="Acme", attributes={"plan": "free"}),
            Company(id=other, workspace_id=ws, name="Other", attributes={"plan": "enterprise"}),
            Contact(id=ada, workspace_id=ws, email="ada@x.test", company_id=acme, attributes={"plan": "pro"}),
            Contact(id=bob, workspace_id=ws, email="bob@x.test", company_id=acme),
            Contact(id=cy, workspace_id=ws, email="cy@x.test", company_id=other),  # not re-evaluated below
            Segment(id=enterprise, workspace_id=ws, name="e", filter=to_json(parse_filter(ENTERPRISE))),
            Segment(id=pros, workspace_id=ws, name="p", filter=to_json(parse_filter(PRO))),
        ])  # fmt: skip
        await session.commit()
    consumer = SegmentConsumer(sessions, entry_rate=0)

    async with sessions() as session:
        company = await session.get(Company, acme)
        assert company is not None
        company.attributes = {"plan": "enterprise"}
        await session.commit()
    await _consume(consumer, OutboxEvent(ws, acme, "c1", acme, {}, utcnow(), OutboxKind.COMPANY))
    async with sessions() as session:
        assert await is_member(session, ws, enterprise, ada)
        assert await is_member(session, ws, enterprise, bob)
        assert not await is_member(session, ws, enterprise, cy)  # its company did not change: not evaluated
        assert not await is_member(session, ws, pros, ada)  # a company row leaves other segments alone

    async with sessions() as session:
        moved = await session.get(Contact, bob)
        assert moved is not None
        moved.company_id = None
        await session.commit()
    await _consume(consumer, OutboxEvent(ws, bob, "c2", "updated", {}, utcnow(), OutboxKind.CONTACT))
    async with sessions() as session:
        assert not await is_member(session, ws, enterprise, bob)
        assert await is_member(session, ws, enterprise, ada)
