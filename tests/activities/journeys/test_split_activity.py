"""The split's activity on the database: each kind of condition read from its table, and the branch decided."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.journeys.conditions import SplitActivities
from activities.journeys.contracts import EvaluateSplitInput, EvaluateSplitOutput
from domain.ids import new_id
from domain.journeys.steps.branching import SplitBranch
from store.models import Contact, ContactScore, DeliveryEvent, Event, MessageLog
from store.models_segments import Segment, SegmentMembership
from store.workspaces import NewWorkspace
from tests.activities.journeys.conftest import add_contact

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)
BRANCHES = TypeAdapter(list[SplitBranch])


async def evaluate(
    sessions: async_sessionmaker[AsyncSession],
    contact: Contact,
    *conditions: dict[str, Any],
    keys: dict[str, str] | None = None,
) -> EvaluateSplitOutput:
    branches = BRANCHES.validate_python([{"condition": c, "next": f"b{i}"} for i, c in enumerate(conditions)])
    request = EvaluateSplitInput(
        workspace_id=contact.workspace_id,
        journey_id="jr_1",
        contact_id=contact.id,
        step_id="split",
        branches=branches,
        engagement_keys=keys or {},
        at=AT,
    )
    return await SplitActivities(sessions).evaluate_split(request)


async def test_attributes_read_fields_and_custom_attributes(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    contact = await add_contact(sessions, workspace, first_name="Ada", attributes={"plan": {"tier": "pro"}})

    missed = await evaluate(sessions, contact, {"attribute": {"property": "plan.tier", "op": "eq", "value": "free"}})
    hit = await evaluate(
        sessions,
        contact,
        {"attribute": {"property": "plan.tier", "op": "eq", "value": "free"}},
        {
            "all": [
                {"attribute": {"property": "first_name", "op": "eq", "value": "Ada"}},
                {"attribute": {"property": "plan.tier", "op": "in", "value": ["pro", "team"]}},
            ]
        },
    )

    assert missed.branch is None
    assert missed.facts.attributes == {"plan.tier": "pro"}
    assert hit.branch == 1
    assert hit.reason == 'attribute first_name="Ada" eq "Ada" and attribute plan.tier="pro" in ["pro", "team"]'


async def test_segment_membership_and_scores(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    contact = await add_contact(sessions, workspace)
    ws = workspace.workspace.id
    async with sessions() as session:
        session.add(Segment(id="sg_vip", workspace_id=ws, name="vip"))
        session.add(SegmentMembership(segment_id="sg_vip", contact_id=contact.id, workspace_id=ws))
        session.add(ContactScore(workspace_id=ws, contact_id=contact.id, score_group="lead", score=42.0))
        await session.commit()

    out = await evaluate(
        sessions,
        contact,
        {"segment": "sg_vip", "member": False},
        {"score": {"group": "fit", "op": "gte", "value": 1}},
        {"score": {"group": "lead", "op": "gte", "value": 10}},
    )

    assert (out.branch, out.reason) == (2, "score lead=42 >= 10")
    assert out.facts.segments == {"sg_vip": True}
    assert out.facts.scores == {"fit": 0.0, "lead": 42.0}


async def test_event_history_counts_track_events_in_the_window_matching_the_filters(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    contact = await add_contact(sessions, workspace)
    ws = workspace.workspace.id

    def event(days_ago: float, path: str, kind: str = "track") -> Event:
        at = AT - timedelta(days=days_ago)
        return Event(
            id=new_id("ev"),
            workspace_id=ws,
            message_id=new_id("m"),
            type=kind,
            name="Viewed",
            contact_id=contact.id,
            properties={"path": path},
            timestamp=at,
            received_at=at,
        )

    async with sessions() as session:
        session.add_all(
            [
                event(1, "/pricing"),
                event(2, "/pricing"),
                event(3, "/blog"),
                event(10, "/pricing"),
                event(1, "/pricing", kind="page"),
                event(-1, "/pricing"),
            ]
        )
        await session.commit()
    pricing = [{"property": "path", "op": "eq", "value": "/pricing"}]

    three = await evaluate(sessions, contact, {"event": {"name": "Viewed", "where": pricing, "min_count": 3}})
    week = await evaluate(sessions, contact, {"event": {"name": "Viewed", "within": "P7D", "min_count": 3}})
    two = await evaluate(
        sessions, contact, {"event": {"name": "Viewed", "within": "P7D", "where": pricing, "min_count": 2}}
    )

    assert three.branch == 0  # all time: days 1, 2 and 10 (not the page view, not the future one)
    assert week.branch == 0  # 1, 2, 3 days ago, any path
    assert two.branch == 0
    assert list(two.facts.events.values()) == [2]
    assert two.reason == "2 'Viewed' (filtered) events within 7d: at least 2"


async def test_engagement_reads_this_runs_message_and_its_delivery_events(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    contact = await add_contact(sessions, workspace)
    ws = workspace.workspace.id
    key = f"journey:{ws}:jr_1:{contact.id}:welcome"

    def log(idempotency_key: str, provider_message_id: str) -> MessageLog:
        return MessageLog(
            id=new_id("msg"),
            workspace_id=ws,
            idempotency_key=idempotency_key,
            journey_id="jr_1",
            contact_id=contact.id,
            step_id="welcome",
            to_address="ada@example.test",
            status="sent",
            provider_message_id=provider_message_id,
        )

    def delivery(provider_message_id: str, kind: str) -> DeliveryEvent:
        return DeliveryEvent(
            id=new_id("dev"),
            workspace_id=ws,
            provider_id="prv_1",
            provider_event_id=new_id("pe"),
            type=kind,
            channel="email",
            provider_message_id=provider_message_id,
        )

    async with sessions() as session:
        session.add_all([log(key, "pm-this-run"), log(key + ":e2", "pm-later-entry-suffix")])
        session.add_all([delivery("pm-this-run", "delivered"), delivery("pm-this-run", "opened")])
        await session.commit()
    opened = {"engagement": {"step": "welcome", "action": "opened"}}
    clicked = {"engagement": {"step": "welcome", "action": "clicked"}}

    out = await evaluate(sessions, contact, clicked, opened, keys={"welcome": key})
    other_run = await evaluate(sessions, contact, opened, keys={"welcome": f"journey:{ws}:jr_1:{contact.id}:x"})

    assert (out.branch, out.reason) == (1, "the message of step 'welcome' was opened")
    assert out.facts.engagement == {"welcome": ["delivered", "opened"]}
    assert other_run.branch is None


async def test_a_deleted_contact_takes_the_default(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ghost = Contact(id="ct_gone", workspace_id=workspace.workspace.id)

    out = await evaluate(sessions, ghost, {"attribute": {"property": "plan", "op": "exists"}})

    assert out.branch is None
    assert out.facts.contact_found is False


async def test_a_large_attribute_is_decided_on_whole_and_shown_by_its_size(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    notes = "x" * 2000
    contact = await add_contact(sessions, workspace, attributes={"notes": notes})

    out = await evaluate(sessions, contact, {"attribute": {"property": "notes", "op": "contains", "value": "xx"}})

    assert out.branch == 0
    assert out.facts.attributes == {"notes": "(2002 bytes of JSON)"}
    assert out.reason == f'attribute notes="{"x" * 76}... contains "xx"'
