"""update_contact and adjust_score on the database: the contact write path, scores, once per idempotency key."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from activities.journeys.contact_steps import ContactStepActivities
from activities.journeys.contracts import AdjustScoreInput, UpdateContactInput
from domain.events.interest import OutboxKind
from domain.scoring.decay import micro
from store.models import Contact, DispatchOutbox
from store.models_scoring import ScoreLedger, ScoreRule, ScoreThreshold
from store.scoring_adjust import JOURNEY_RULE_ID
from store.scoring_reads import contact_scores
from store.scoring_recompute import recompute_chunk
from store.scoring_rules import load_scoring
from store.workspaces import NewWorkspace
from tests.activities.journeys.conftest import add_contact


def update(contact: Contact, key: str = "k1", **change: object) -> UpdateContactInput:
    return UpdateContactInput(
        workspace_id=contact.workspace_id,
        journey_id="jr_1",
        contact_id=contact.id,
        step_id="mark",
        idempotency_key=f"{contact.id}:{key}",
        **change,
    )


async def reload(sessions: async_sessionmaker[AsyncSession], contact: Contact) -> Contact:
    async with sessions() as session:
        found = await session.get(Contact, contact.id)
        assert found is not None
        return found


async def contact_rows(sessions: async_sessionmaker[AsyncSession], contact: Contact) -> list[DispatchOutbox]:
    async with sessions() as session:
        rows = await session.execute(
            select(DispatchOutbox).where(
                col(DispatchOutbox.contact_id) == contact.id, col(DispatchOutbox.kind) == OutboxKind.CONTACT
            )
        )
        return list(rows.scalars())


async def test_update_contact_renders_writes_fields_and_attributes_and_queues_the_change(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    contact = await add_contact(sessions, workspace, first_name="Ada", attributes={"trial": True, "visits": 2})
    woken: list[bool] = []
    steps = ContactStepActivities(sessions, lambda: woken.append(True))

    out = await steps.update_contact(
        update(
            contact,
            set={"plan": "pro", "greeting": "Hi {{ contact.first_name }}", "lastName": "Lovelace"},
            unset=["trial", "first_name"],
        )
    )

    assert out.status == "updated"
    assert out.changed == {
        "plan": "pro",
        "greeting": "Hi Ada",
        "lastName": "Lovelace",
        "trial": None,
        "first_name": None,
    }
    stored = await reload(sessions, contact)
    assert stored.attributes == {"visits": 2, "plan": "pro", "greeting": "Hi Ada"}
    assert (stored.first_name, stored.last_name) == (None, "Lovelace")
    [row] = await contact_rows(sessions, contact)
    assert (row.name, row.properties["plan"]) == ("updated", "pro")
    assert woken == [True]


async def test_update_contact_twice_under_one_key_changes_the_contact_once(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    contact = await add_contact(sessions, workspace, attributes={"visits": 1})
    steps = ContactStepActivities(sessions)
    bump = update(contact, set={"visits": "{{ contact.visits | plus: 1 }}"})

    first = await steps.update_contact(bump)
    again = await steps.update_contact(bump)

    assert (first.status, again.status) == ("updated", "already_applied")
    assert again.changed == first.changed == {"visits": "2"}
    assert (await reload(sessions, contact)).attributes == {"visits": "2"}
    assert len(await contact_rows(sessions, contact)) == 1


async def test_update_contact_of_a_deleted_contact_writes_nothing(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    ghost = Contact(id="ct_gone_upd", workspace_id=workspace.workspace.id)

    out = await ContactStepActivities(sessions).update_contact(update(ghost, set={"plan": "pro"}))

    assert out.status == "contact_missing"


def adjustment(contact: Contact, delta: float, key: str = "bump") -> AdjustScoreInput:
    return AdjustScoreInput(
        workspace_id=contact.workspace_id,
        journey_id="jr_1",
        contact_id=contact.id,
        step_id="bump",
        idempotency_key=f"{contact.id}:{key}",
        group="lead",
        delta=delta,
    )


async def test_adjust_score_applies_once_per_key_and_crosses_thresholds(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    contact = await add_contact(sessions, workspace)
    ws = workspace.workspace.id
    async with sessions() as session:
        session.add(
            ScoreThreshold(
                id=f"sth_{contact.id}",
                workspace_id=ws,
                score_group="lead",
                value=10,
                direction="up",
                alert_ttl_hours=24,
            )
        )
        await session.commit()
    steps = ContactStepActivities(sessions)

    first = await steps.adjust_score(adjustment(contact, 12))
    retried = await steps.adjust_score(adjustment(contact, 12))
    other = await steps.adjust_score(adjustment(contact, -2, key="cool_down"))

    assert (first.status, first.score) == ("applied", 12.0)
    assert (retried.status, retried.score) == ("already_applied", 12.0)
    assert (other.status, other.score) == ("applied", 10.0)
    async with sessions() as session:
        assert await contact_scores(session, ws, contact.id) == {"lead": 10.0, "total": 10.0}
        ledger = (await session.execute(select(ScoreLedger).where(col(ScoreLedger.contact_id) == contact.id))).scalars()
        assert sorted(row.points_micro for row in ledger) == [micro(-2), micro(12)]
        crossed = await session.execute(
            select(DispatchOutbox).where(
                col(DispatchOutbox.contact_id) == contact.id, col(DispatchOutbox.kind) == OutboxKind.SCORE_CROSSED
            )
        )
        assert len(list(crossed.scalars())) == 1  # 0 -> 12 crossed 10 upwards; 12 -> 10 stays at it


async def test_a_recompute_keeps_journey_adjustments(
    sessions: async_sessionmaker[AsyncSession], workspace: NewWorkspace
) -> None:
    contact = await add_contact(sessions, workspace)
    ws = workspace.workspace.id
    async with sessions() as session:
        session.add(
            ScoreRule(
                id=f"srl_{contact.id}",
                workspace_id=ws,
                name="r",
                score_group="lead",
                kind="event",
                event_name="Signed Up",
                spec={"name": "r", "group": "lead", "points": 1, "event": "Signed Up"},
            )
        )
        await session.commit()
    await ContactStepActivities(sessions).adjust_score(adjustment(contact, 7))

    async with sessions() as session:
        scoring = await load_scoring(session, ws)
        after = None
        while (chunk := await recompute_chunk(session, ws, scoring, after, 500, contact.created_at)).last_contact_id:
            after = chunk.last_contact_id
        rows = await session.execute(select(ScoreLedger.rule_id).where(col(ScoreLedger.contact_id) == contact.id))  # type: ignore[call-overload]
        assert list(rows.scalars()) == [JOURNEY_RULE_ID]
        assert (await contact_scores(session, ws, contact.id))["lead"] == 7.0
