"""What follows a merge's and an unmerge's row moves (store/merge_effects.py, run by the merge activities): the
survivor's score is recomputed from both ledgers (a crossing queues score_crossed as any grant does), each
contact's score comes back after an unmerge, contact rows are queued for the segments consumer, and a merged
contact is in no segment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from activities.identity.contracts import MergeInput
from activities.identity.merge import IdentityActivities
from dispatch.segments import SegmentConsumer
from domain.clock import utcnow
from domain.events.interest import CONTACT_MERGED, OutboxKind
from domain.ids import new_id
from domain.scoring.decay import epoch_hour, micro
from domain.scoring.rules import RuleSpec
from domain.segments.filters import parse_filter, to_json
from store.models import Contact, DispatchOutbox
from store.models_identity import ContactMerge
from store.models_scoring import ScoreLedger, ScoreThreshold
from store.models_segments import Segment
from store.outbox import OutboxEvent, OutboxRow
from store.scoring_apply import contact_ids, grant_attributes, refresh_scores
from store.scoring_reads import contact_scores
from store.scoring_rules import create_rule, load_scoring
from store.segment_sql import EVERYONE
from store.segments import apply_diff, is_member, load
from tests.conftest import new_workspace

Sessions = async_sessionmaker[AsyncSession]
INTERESTED = {"score": "interest", "gte": 5}


def _grant(ws: str, contact: str, points: float, now: datetime) -> ScoreLedger:
    return ScoreLedger(workspace_id=ws, contact_id=contact, score_group="interest", rule_id="r_test",
                       event_id=new_id("ev"), points_micro=micro(points), granted_hour=epoch_hour(now),
                       reason="test")  # fmt: skip


async def _world(db: Sessions, database_url: str) -> tuple[str, str, str, str]:
    """A survivor with 10 interest points, a contact to merge with 8 (both a score row for the group: twins),
    a threshold at 15 and a segment of the interested; both contacts members."""
    ws = (await new_workspace(database_url)).workspace.id
    survivor, merged, now = new_id("ct"), new_id("ct"), utcnow()
    segment = Segment(id=new_id("sg"), workspace_id=ws, name="interested", filter=to_json(parse_filter(INTERESTED)))
    async with db() as session:
        session.add(Contact(id=survivor, workspace_id=ws, email="ann@example.test"))
        session.add(Contact(id=merged, workspace_id=ws, first_name="Ann"))
        session.add(segment)
        session.add(ScoreThreshold(id=new_id("th"), workspace_id=ws, score_group="interest", value=15,
                                   direction="up", alert_ttl_hours=24))  # fmt: skip
        session.add_all([_grant(ws, survivor, 10, now), _grant(ws, merged, 8, now)])
        await session.flush()
        await refresh_scores(session, ws, await load_scoring(session, ws), contact_ids([survivor, merged]), now)
        await apply_diff(session, ws, load(segment), now, EVERYONE, entry_rate=0)
        await session.commit()
    return ws, survivor, merged, segment.id


async def _queued(db: Sessions, ws: str, kind: str, after: int = 0) -> list[DispatchOutbox]:
    async with db() as session:
        rows = await session.execute(
            select(DispatchOutbox)
            .where(col(DispatchOutbox.workspace_id) == ws, col(DispatchOutbox.kind) == kind)
            .where(col(DispatchOutbox.id) > after)
            .order_by(col(DispatchOutbox.id))
        )
        return list(rows.scalars())


async def _consume(db: Sessions, rows: list[DispatchOutbox]) -> None:
    events = [OutboxEvent(r.workspace_id, r.contact_id, r.event_id, r.name, r.properties, r.occurred_at, r.kind)
              for r in rows]  # fmt: skip
    await SegmentConsumer(db, entry_rate=0).consume([OutboxRow(i, e, 0) for i, e in enumerate(events)])


async def _scores(db: Sessions, ws: str, contact: str) -> dict[str, float]:
    async with db() as session:
        return await contact_scores(session, ws, contact)


async def test_merge_recomputes_the_survivors_score_and_unmerge_gives_each_its_own(
    db: Sessions, database_url: str
) -> None:
    ws, survivor, merged, segment = await _world(db, database_url)
    assert await _scores(db, ws, survivor) == {"interest": 10.0, "total": 10.0}
    merge = ContactMerge(id=new_id("mg"), workspace_id=ws, survivor_id=survivor, merged_id=merged, workflow_id="w")
    async with db() as session:
        session.add(merge)
        await session.commit()
    activities = IdentityActivities(db)

    result = await activities.merge_rows(MergeInput(merge_id=merge.id))
    assert result.status == "completed"
    assert await _scores(db, ws, survivor) == {"interest": 18.0, "total": 18.0}  # both ledgers
    assert await _scores(db, ws, merged) == {}
    crossed = await _queued(db, ws, OutboxKind.SCORE_CROSSED)
    assert [(r.contact_id, r.name, r.properties["direction"]) for r in crossed] == [(survivor, "interest", "up")]
    changes = await _queued(db, ws, OutboxKind.CONTACT)
    assert [(r.contact_id, r.name) for r in changes] == [(survivor, CONTACT_MERGED), (merged, CONTACT_MERGED)]
    await activities.merge_rows(MergeInput(merge_id=merge.id))  # a retried attempt queues nothing again
    assert len(await _queued(db, ws, OutboxKind.CONTACT)) == 2

    await _consume(db, changes)
    async with db() as session:
        assert await is_member(session, ws, segment, survivor)
        assert not await is_member(session, ws, segment, merged)  # its membership was the survivor's twin

    async with db() as session:
        row = await session.get(ContactMerge, merge.id)
        assert row is not None
        row.status = "undoing"
        await session.commit()
    last = changes[-1].id or 0
    undone = await activities.unmerge_rows(MergeInput(merge_id=merge.id, action="unmerge"))
    assert undone.status == "undone"
    assert await _scores(db, ws, survivor) == {"interest": 10.0, "total": 10.0}
    assert await _scores(db, ws, merged) == {"interest": 8.0, "total": 8.0}
    # an `up` threshold: falling back under it is no crossing, and the restored 8 crosses nothing
    assert await _queued(db, ws, OutboxKind.SCORE_CROSSED, after=last) == []
    back = await _queued(db, ws, OutboxKind.CONTACT, after=last)
    assert sorted(r.contact_id for r in back) == sorted([survivor, merged])
    await _consume(db, back)
    async with db() as session:
        assert await is_member(session, ws, segment, merged)  # restored, it matches again
        assert await is_member(session, ws, segment, survivor)


async def test_a_merged_contact_is_no_member_after_a_refresh(db: Sessions, database_url: str) -> None:
    ws, survivor, merged, segment_id = await _world(db, database_url)
    async with db() as session:
        contact = await session.get(Contact, merged)
        segment = await session.get(Segment, segment_id)
        assert contact is not None
        assert segment is not None
        contact.merged_into = survivor
        await session.flush()
        diff = await apply_diff(session, ws, load(segment), utcnow(), EVERYONE, entry_rate=0)
        await session.commit()
    assert diff.exited == [merged]
    async with db() as session:
        assert not await is_member(session, ws, segment_id, merged)
        assert await is_member(session, ws, segment_id, survivor)


async def test_an_attribute_rule_both_matched_counts_once_for_the_survivor(db: Sessions, database_url: str) -> None:
    ws = (await new_workspace(database_url)).workspace.id
    survivor, merged, now = new_id("ct"), new_id("ct"), utcnow()
    pro = RuleSpec.model_validate({"name": "Pro", "group": "fit", "points": 10,
                                   "attributes": [{"property": "plan", "op": "eq", "value": "pro"}]})  # fmt: skip
    async with db() as session:
        await create_rule(session, ws, pro, now)
        session.add(Contact(id=survivor, workspace_id=ws, email="bo@example.test", attributes={"plan": "pro"}))
        session.add(Contact(id=merged, workspace_id=ws, first_name="Bo", attributes={"plan": "pro"}))
        await session.flush()
        scoring = await load_scoring(session, ws)
        await grant_attributes(session, ws, scoring.attribute_rules, contact_ids([survivor, merged]), now)
        await refresh_scores(session, ws, scoring, contact_ids([survivor, merged]), now)
        merge = ContactMerge(id=new_id("mg"), workspace_id=ws, survivor_id=survivor, merged_id=merged, workflow_id="w")
        session.add(merge)
        await session.commit()
    assert await _scores(db, ws, merged) == {"fit": 10.0, "total": 10.0}
    activities = IdentityActivities(db)
    await activities.merge_rows(MergeInput(merge_id=merge.id))
    assert await _scores(db, ws, survivor) == {"fit": 10.0, "total": 10.0}  # while it matches: once
    assert await _scores(db, ws, merged) == {}
    async with db() as session:
        row = await session.get(ContactMerge, merge.id)
        assert row is not None
        row.status = "undoing"
        await session.commit()
    await activities.unmerge_rows(MergeInput(merge_id=merge.id, action="unmerge"))
    assert await _scores(db, ws, survivor) == {"fit": 10.0, "total": 10.0}
    assert await _scores(db, ws, merged) == {"fit": 10.0, "total": 10.0}  # matching again, granted again
