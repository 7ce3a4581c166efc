"""Contact merge end to end on the real dev server, worker, API and database: a contact signed up through the
Segment client sits in a journey's one-hour wait; merging it into another contact moves its events, scores,
consents, segment memberships and message log to the survivor, and its running journey is handed over (the
survivor's execution waits at the same step until the same instant) or exits (policy `exit`), reason `merged`.
An unmerge puts every moved row back and restores both contacts."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select
from temporalio.client import Client

from activities.identity.contracts import JourneysMoved, MergeResult
from activities.identity.journeys import MergeJourneyActivities
from domain.clock import utcnow
from domain.ids import new_id
from domain.journeys.runtime import STATE_QUERY, JourneyState, journey_workflow_id
from domain.scoring.decay import epoch_hour, micro
from store.db import create_async_db_engine, session_factory
from store.models_scoring import ScoreLedger
from store.scoring_apply import contact_ids as scored_contacts
from store.scoring_apply import refresh_scores
from store.scoring_rules import load_scoring
from store.workspaces import NewWorkspace
from tests.e2e.test_journey_control_e2e import contact_ids, published, send, sign_up, wait
from tests.e2e.test_journey_e2e import segment_track, wait_state
from tests.servers import SmtpSink
from tests.store.test_merges import _table, row_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
TABLES = ("event", "message_log", "score_ledger", "contact_score", "contact_consent", "consent_history",
          "segment_membership")  # fmt: skip


async def counts(database_url: str, contact_id: str) -> dict[str, int]:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            out = {}
            for name in TABLES:
                table = _table(name)
                query = select(func.count()).select_from(table).where(table.c.contact_id == contact_id)
                out[name] = int((await session.execute(query)).scalar_one())
            return out
    finally:
        await engine.dispose()


async def add_score_and_membership(database_url: str, workspace_id: str, contact_id: str) -> None:
    """Rows the scoring and segment workflows would write (their own tests drive them): a ledger grant and the
    scores it makes (the group's and the total), a membership."""
    engine = create_async_db_engine(database_url)
    refs = {"workspace": workspace_id, "contact": contact_id, "journey": ""}
    now = utcnow()
    try:
        async with session_factory(engine)() as session:
            session.add(ScoreLedger(workspace_id=workspace_id, contact_id=contact_id, score_group="default",
                                    rule_id="r_e2e", event_id=new_id("ev"), points_micro=micro(5),
                                    granted_hour=epoch_hour(now), reason="e2e"))  # fmt: skip
            await session.flush()
            scoring = await load_scoring(session, workspace_id)
            await refresh_scores(session, workspace_id, scoring, scored_contacts([contact_id]), now)
            row = row_for(_table("segment_membership"), refs, workspace_id=workspace_id, contact_id=contact_id)
            await session.execute(insert(_table("segment_membership")).values(**row))
            await session.commit()
    finally:
        await engine.dispose()


async def until_merge(api: httpx.AsyncClient, merge_id: str, status: str) -> dict[str, Any]:
    for _ in range(600):
        body: dict[str, Any] = (await api.get(f"/v1/merges/{merge_id}")).json()
        if body["status"] == status:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"merge never {status}: {body}")


async def merged_run(temporal_client: Client, workspace_id: str, journey_id: str, contact_id: str) -> JourneyState:
    handle = temporal_client.get_workflow_handle(journey_workflow_id(workspace_id, journey_id, contact_id))
    await handle.result()  # the stopped run ends
    state: JourneyState = await handle.query(STATE_QUERY, result_type=JourneyState)
    return state


async def setup(
    api: httpx.AsyncClient, workspace: NewWorkspace, base_url: str, smtp: SmtpSink, database_url: str
) -> tuple[str, str, str, dict[str, Any]]:
    """A journey whose contact `mia` waits an hour after the welcome; a survivor known by phone only."""
    journey_id = await published(api, {"trigger": {"event": "Signed Up"}, "start": "welcome",
                                       "steps": [send("welcome", "w"), wait("w", "PT1H", "followup"),
                                                 send("followup")]})  # fmt: skip
    await sign_up(workspace, base_url, "mia")
    await smtp.wait_for(1)
    (merged,) = await contact_ids(api, ("mia",))
    before = await wait_state(api, journey_id, merged, current_step="w")
    consent = await api.put(
        f"/v1/contacts/{merged}/consent", json={"changes": [{"channel": "sms", "status": "granted"}]}
    )
    assert consent.status_code == 200, consent.text
    await add_score_and_membership(database_url, workspace.workspace.id, merged)
    created = await api.post("/v1/contacts", json={"phone": "+33612345678", "first_name": "Mia"})
    assert created.status_code == 201, created.text
    return journey_id, merged, created.json()["id"], before


async def test_merge_hands_the_journey_over_and_unmerge_restores(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink, temporal_client: Client, database_url: str
) -> None:
    ws = workspace.workspace.id
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {workspace.api_key}"}, timeout=30
    ) as api:
        journey_id, merged, survivor, before = await setup(api, workspace, base_url, smtp, database_url)
        merged_rows = await counts(database_url, merged)
        assert all(merged_rows.values()), merged_rows  # something of each kind to move
        survivor_rows = await counts(database_url, survivor)

        response = await api.post("/v1/contacts/merge", json={"survivor_id": survivor, "merged_id": merged})
        assert response.status_code == 202, response.text
        done = await until_merge(api, response.json()["id"], "completed")
        assert done["journeys"]["hand_over"] == [journey_id]

        moved = await counts(database_url, survivor)
        assert moved == {name: survivor_rows[name] + merged_rows[name] for name in TABLES}
        assert await counts(database_url, merged) == dict.fromkeys(TABLES, 0)
        read = (await api.get(f"/v1/contacts/{merged}")).json()
        assert (read["id"], read["merged_into"], read["external_id"]) == (survivor, survivor, "mia")
        assert read["email"] == "mia@example.test"
        assert read["first_name"] == "Mia"
        found = await api.get("/v1/contacts/lookup", params={"external_id": "mia"})
        assert found.json()["id"] == survivor
        # ingestion of the merged contact's user id lands on the survivor (its identities moved)
        tracked = [("track", {"user_id": "mia", "event": "Clicked", "message_id": "after-merge"})]
        assert await asyncio.to_thread(segment_track, workspace.write_key, base_url, tracked) == []
        for _ in range(200):
            if (await counts(database_url, survivor))["event"] == moved["event"] + 1:
                break
            await asyncio.sleep(0.05)
        assert (await counts(database_url, survivor))["event"] == moved["event"] + 1
        assert (await counts(database_url, merged))["event"] == 0

        handed = await wait_state(api, journey_id, survivor, current_step="w", status="running")
        assert handed["wait_until"] == before["wait_until"]  # the same wait, not a new hour
        assert [step["step_id"] for step in handed["history"]][:2] == ["welcome", "w"]
        stopped = await merged_run(temporal_client, ws, journey_id, merged)
        assert stopped.status == "exited"
        assert stopped.exit is not None
        assert stopped.exit.reason == "merged"

        # the activity again, as a retry would run it: nothing is started or stopped twice
        again = await MergeJourneyActivities(temporal_client, "unused").move_journeys(
            MergeResult(
                merge_id=done["id"],
                status="completed",
                workspace_id=ws,
                merged_id=merged,
                survivor_id=survivor,
                policy="hand_over",
                hand_over=[journey_id],
            )
        )
        assert again == JourneysMoved()

        undo = await api.post(f"/v1/merges/{done['id']}/unmerge")
        assert undo.status_code == 202, undo.text
        await until_merge(api, done["id"], "undone")
        assert await counts(database_url, merged) == merged_rows
        # what the survivor gained since the merge stays with it
        assert await counts(database_url, survivor) == {**survivor_rows, "event": survivor_rows["event"] + 1}
        back = (await api.get(f"/v1/contacts/{merged}")).json()
        assert (back["id"], back["external_id"], back["email"]) == (merged, "mia", "mia@example.test")
        assert "merged_into" not in back
        kept = (await api.get(f"/v1/contacts/{survivor}")).json()
        assert (kept["external_id"], kept["email"], kept["phone"]) == (None, None, "+33612345678")
        found = await api.get("/v1/contacts/lookup", params={"external_id": "mia"})
        assert found.json()["id"] == merged
        # the handed-over execution runs on for the survivor, and its enrollment stays with it
        await wait_state(api, journey_id, survivor, current_step="w", status="running")
        gone = await api.get(f"/v1/journeys/{journey_id}/contacts/{merged}")
        assert gone.json()["error"]["code"] == "journey_enrollment_not_found"


async def test_merge_under_exit_policy_stops_the_merged_journey(
    base_url: str, workspace: NewWorkspace, smtp: SmtpSink, temporal_client: Client, database_url: str
) -> None:
    ws = workspace.workspace.id
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {workspace.api_key}"}, timeout=30
    ) as api:
        policy = await api.put("/v1/identity/merge-policy", json={"journeys": "exit"})
        assert policy.status_code == 200, policy.text
        journey_id, merged, survivor, _ = await setup(api, workspace, base_url, smtp, database_url)
        response = await api.post("/v1/contacts/merge", json={"survivor_id": survivor, "merged_id": merged})
        assert response.status_code == 202, response.text
        done = await until_merge(api, response.json()["id"], "completed")
        assert done["journeys"] == {"policy": "exit", "hand_over": [], "exit": [journey_id]}
        stopped = await merged_run(temporal_client, ws, journey_id, merged)
        assert stopped.status == "exited"
        assert stopped.exit is not None
        assert stopped.exit.reason == "merged"
        survivor_run = temporal_client.get_workflow_handle(journey_workflow_id(ws, journey_id, survivor))
        with pytest.raises(Exception, match="not found"):
            await survivor_run.describe()
        assert done["skipped"] == {"journey_enrollment": 1}  # it stays with the stopped execution
        exited = await wait_state(api, journey_id, merged, status="exited")
        assert exited["exit"]["reason"] == "merged"
        none = await api.get(f"/v1/journeys/{journey_id}/contacts/{survivor}")
        assert none.json()["error"]["code"] == "journey_enrollment_not_found"
