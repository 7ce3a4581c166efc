"""The scoring API on both databases: rules CRUD, thresholds, real-time scores (the dispatcher's consumer run on
the outbox), history, leaderboard, alerts (list, expiry, ack) and the recompute endpoint."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import update
from sqlmodel import col

from dispatch.scoring import ScoringConsumer
from domain.clock import utcnow
from mauntic.settings import Settings
from store.models_scoring import ScoreAlert
from store.outbox import OutboxEvent, OutboxRow
from store.score_alerts import close_expired
from store.workspaces import NewWorkspace
from tests.api.ingest_support import Sessions, post
from tests.outbox_rows import outbox

Headers = dict[str, str]


async def _dispatch(db: Sessions, settings: Settings, workspace_id: str) -> None:
    """What the dispatcher does with the workspace's outbox rows: run the scoring consumer (then drop them)."""
    rows = [
        OutboxRow(r.id or 0, OutboxEvent(r.workspace_id, r.contact_id, r.event_id, r.name, r.properties,
                                         r.occurred_at, r.kind), 0)
        for r in await outbox(db, workspace_id)
    ]  # fmt: skip
    await ScoringConsumer(db, settings).consume(rows)


async def test_rules_crud_and_validation(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    rule = {"name": "Pricing page", "group": "interest", "points": 5, "event": "Viewed Pricing"}
    created = await client.post("/v1/scoring/rules", json=rule, headers=admin_headers)
    assert created.status_code == 201, created.text
    rule_id = created.json()["id"]
    assert created.json()["kind"] == "event"
    for bad in (
        {**rule, "group": "total"},
        {**rule, "event": None},
        {**rule, "name": "a\u0000b"},
        {**rule, "where": [{"property": "p", "op": "in", "value": 1}]},
    ):
        response = await client.post("/v1/scoring/rules", json=bad, headers=admin_headers)
        assert response.status_code == 422, (bad, response.text)
    replaced = await client.put(f"/v1/scoring/rules/{rule_id}", json={**rule, "points": 7}, headers=admin_headers)
    assert replaced.json()["spec"]["points"] == 7
    await client.post("/v1/scoring/rules", json={**rule, "name": "second"}, headers=admin_headers)
    first = await client.get("/v1/scoring/rules?limit=1", headers=admin_headers)
    assert len(first.json()["data"]) == 1
    cursor = first.json()["next_cursor"]
    second = await client.get("/v1/scoring/rules", params={"limit": 1, "cursor": cursor}, headers=admin_headers)
    assert second.json()["data"][0]["name"] == "second"
    assert (await client.get("/v1/scoring/rules?cursor=garbage", headers=admin_headers)).status_code == 422
    assert (await client.delete(f"/v1/scoring/rules/{rule_id}", headers=admin_headers)).status_code == 204
    assert (await client.get(f"/v1/scoring/rules/{rule_id}", headers=admin_headers)).status_code == 404


async def test_events_score_cross_a_threshold_and_alert(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    auth: Headers,
    workspace: NewWorkspace,
    db: Sessions,
    settings: Settings,
) -> None:
    ws = workspace.workspace.id
    rules = [
        {"name": "Pricing", "group": "interest", "points": 5, "event": "Viewed Pricing",
         "cap": {"points": 10, "window_hours": 24}},
        {"name": "Big order", "group": "engagement", "points": 20, "event": "Order Completed",
         "where": [{"property": "total", "op": "gte", "value": 100}]},
    ]  # fmt: skip
    for rule in rules:
        assert (await client.post("/v1/scoring/rules", json=rule, headers=admin_headers)).status_code == 201
    threshold = {"group": "total", "value": 25, "direction": "up", "alert_ttl_hours": 1}
    assert (await client.post("/v1/scoring/thresholds", json=threshold, headers=admin_headers)).status_code == 201
    for _ in range(3):  # 15 points, capped at 10
        await post(client, "/v1/track", auth, {"userId": "lead-1", "event": "Viewed Pricing"})
    await post(client, "/v1/track", auth, {"userId": "lead-1", "event": "Order Completed", "properties": {"total": 50}})
    await post(client, "/v1/track", auth, {"userId": "lead-2", "event": "Viewed Pricing"})
    await post(client, "/v1/track", auth, {"userId": "lead-2", "event": "Page Viewed"})  # no rule: not queued
    assert {r.name for r in await outbox(db, ws)} >= {"Viewed Pricing", "Order Completed"}
    assert "Page Viewed" not in {r.name for r in await outbox(db, ws)}
    await _dispatch(db, settings, ws)
    contacts = (await client.get("/v1/contacts", headers=admin_headers)).json()["data"]
    lead1 = next(c["id"] for c in contacts if c["external_id"] == "lead-1")
    score = (await client.get(f"/v1/contacts/{lead1}/score", headers=admin_headers)).json()
    assert score == {"contact_id": lead1, "total": 10.0, "groups": {"interest": 10.0}}
    assert (await client.get("/v1/scoring/alerts", headers=admin_headers)).json()["data"] == []

    await post(
        client, "/v1/track", auth, {"userId": "lead-1", "event": "Order Completed", "properties": {"total": 120}}
    )
    await _dispatch(db, settings, ws)
    score = (await client.get(f"/v1/contacts/{lead1}/score", headers=admin_headers)).json()
    assert score["total"] == 30.0
    assert score["groups"] == {"engagement": 20.0, "interest": 10.0}
    history = (await client.get(f"/v1/contacts/{lead1}/score/history?limit=2", headers=admin_headers)).json()
    assert [e["points"] for e in history["data"]] == [20.0, 5.0]
    assert history["data"][0]["reason"].startswith("Big order")
    rest = await client.get(
        f"/v1/contacts/{lead1}/score/history", params={"cursor": history["next_cursor"]}, headers=admin_headers
    )
    assert [e["points"] for e in rest.json()["data"]] == [5.0]
    board = (await client.get("/v1/scoring/leaderboard?group=total&limit=2", headers=admin_headers)).json()
    assert [e["score"] for e in board["data"]] == [30.0, 5.0]
    assert board["data"][0]["contact_id"] == lead1
    [alert] = (await client.get("/v1/scoring/alerts", headers=admin_headers)).json()["data"]
    assert (alert["contact_id"], alert["previous"], alert["score"], alert["state"]) == (lead1, 10.0, 30.0, "active")
    acked = await client.post(f"/v1/scoring/alerts/{alert['id']}/ack", headers=admin_headers)
    assert acked.json()["acknowledged_at"] is not None
    crossed = [r for r in await outbox(db, ws) if r.kind == "score_crossed"]
    assert [(r.name, r.properties["threshold"], r.properties["direction"]) for r in crossed] == [("total", 25.0, "up")]
    # expiry: an alert past its expiry is listed as expired, and the expiry job closes it
    async with db() as session:
        await session.execute(
            update(ScoreAlert)
            .where(col(ScoreAlert.id) == alert["id"])
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        await session.commit()
    assert (await client.get("/v1/scoring/alerts", headers=admin_headers)).json()["data"] == []
    async with db() as session:
        assert await close_expired(session, utcnow()) >= 1
        await session.commit()
    [expired] = (await client.get("/v1/scoring/alerts?state=expired", headers=admin_headers)).json()["data"]
    assert expired["closed_at"] is not None
    assert (await client.post("/v1/scoring/alerts/999999999/ack", headers=admin_headers)).status_code == 404


async def test_recompute_answers_with_the_workflow_id(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    response = await client.post("/v1/scoring/recompute", headers=admin_headers)
    assert response.status_code == 202, response.text
    assert response.json()["workflow_id"].startswith("score-recompute:")
    again = await client.post("/v1/scoring/recompute", json={"chunk_size": 10}, headers=admin_headers)
    assert again.json()["workflow_id"] == response.json()["workflow_id"]


async def test_the_readme_scoring_rule_posts_as_printed(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    import json
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    match = re.search(r"<<'RULE'\n(.*?)\nRULE\n", readme, re.S)
    assert match, "the README no longer shows the rule body"
    created = await client.post("/v1/scoring/rules", json=json.loads(match.group(1)), headers=admin_headers)
    assert created.status_code == 201, created.text
    assert created.json()["spec"]["cap"] == {"points": 10.0, "window_hours": 24}
