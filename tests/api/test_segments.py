"""Segments through the API: CRUD, preview, members, a contact's segments, history, validation errors."""

from __future__ import annotations

from typing import Any

import httpx

from domain.events.interest import OutboxKind
from store.workspaces import NewWorkspace
from tests.api.ingest_support import Sessions
from tests.outbox_rows import outbox

PRO = {"attribute": "plan", "op": "eq", "value": "pro"}


async def _contact(client: httpx.AsyncClient, headers: dict[str, str], email: str, **attributes: Any) -> str:
    answer = await client.post("/v1/contacts", headers=headers, json={"email": email, "attributes": attributes})
    assert answer.status_code == 201, answer.text
    contact_id: str = answer.json()["id"]
    return contact_id


async def _segment(client: httpx.AsyncClient, headers: dict[str, str], filter_: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post("/v1/segments", headers=headers, json={"name": "s", "filter": filter_})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_create_builds_membership_and_lists_it(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    ann = await _contact(client, admin_headers, "ann@example.com", plan="pro", seats=5)
    bob = await _contact(client, admin_headers, "bob@example.com", plan="free", seats=1)
    cid = await _contact(client, admin_headers, "cid@example.com", plan="pro", seats=2)
    segment = await _segment(client, admin_headers, {"and": [PRO, {"attribute": "seats", "op": "gte", "value": 3}]})
    assert segment["member_count"] == 1
    assert segment["time_based"] is False
    wide = await _segment(client, admin_headers, PRO)
    assert wide["member_count"] == 2

    first = await client.get(f"/v1/segments/{wide['id']}/members", headers=admin_headers, params={"limit": 1})
    assert first.status_code == 200, first.text
    second = await client.get(
        f"/v1/segments/{wide['id']}/members",
        headers=admin_headers,
        params={"limit": 1, "cursor": first.json()["next_cursor"]},
    )
    listed = [m["id"] for m in first.json()["data"] + second.json()["data"]]
    assert listed == sorted([ann, cid])
    assert second.json()["next_cursor"] is None

    mine = await client.get(f"/v1/contacts/{ann}/segments", headers=admin_headers)
    assert sorted(s["segment_id"] for s in mine.json()) == sorted([segment["id"], wide["id"]])
    assert (await client.get(f"/v1/contacts/{bob}/segments", headers=admin_headers)).json() == []


async def test_preview_counts_without_saving(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await _contact(client, admin_headers, "p1@example.com", plan="pro")
    await _contact(client, admin_headers, "p2@example.com", plan="free")
    answer = await client.post("/v1/segments/preview", headers=admin_headers, json={"filter": {"not": PRO}})
    assert answer.json() == {"count": 1}
    assert (await client.get("/v1/segments", headers=admin_headers)).json() == []


async def test_update_moves_contacts_out_and_history_shows_it(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Sessions, workspace: NewWorkspace
) -> None:
    ann = await _contact(client, admin_headers, "h1@example.com", plan="pro")
    segment = await _segment(client, admin_headers, PRO)
    changed = await client.patch(
        f"/v1/segments/{segment['id']}",
        headers=admin_headers,
        json={"filter": {"attribute": "plan", "op": "eq", "value": "enterprise"}},
    )
    assert changed.json()["member_count"] == 0
    history = (await client.get(f"/v1/segments/{segment['id']}/history", headers=admin_headers)).json()["data"]
    assert [(h["contact_id"], h["exited_at"] is not None) for h in history] == [(ann, True)]
    rows = [r for r in await outbox(db, workspace.workspace.id) if r.name == segment["id"]]
    assert sorted(r.kind for r in rows) == [OutboxKind.SEGMENT_ENTERED, OutboxKind.SEGMENT_EXITED]
    assert rows[0].properties == {"segment_id": segment["id"]}


async def test_an_invalid_filter_is_a_422_naming_the_path(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    bad = {"and": [PRO, PRO, {"event": "viewed", "window": {"weeks": 2}}]}
    answer = await client.post("/v1/segments", headers=admin_headers, json={"name": "x", "filter": bad})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_segment_filter"
    assert error["details"]["path"] == "filter.and[2].window.weeks"
    deep: dict[str, Any] = PRO
    for _ in range(10):
        deep = {"not": deep}
    answer = await client.post("/v1/segments/preview", headers=admin_headers, json={"filter": deep})
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "segment_filter_too_deep"


async def test_membership_of_another_segment_and_no_cycles(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await _contact(client, admin_headers, "m1@example.com", plan="pro")
    base = await _segment(client, admin_headers, PRO)
    reader = await _segment(client, admin_headers, {"segment": base["id"]})
    assert reader["member_count"] == 1
    cycle = await client.patch(
        f"/v1/segments/{base['id']}", headers=admin_headers, json={"filter": {"segment": reader["id"]}}
    )
    assert cycle.status_code == 422
    assert cycle.json()["error"]["code"] == "segment_cycle"
    unknown = await client.post(
        "/v1/segments", headers=admin_headers, json={"name": "x", "filter": {"segment": "sg_nope"}}
    )
    assert unknown.json()["error"]["code"] == "unknown_segment"
    in_use = await client.delete(f"/v1/segments/{base['id']}", headers=admin_headers)
    assert in_use.json()["error"]["code"] == "segment_in_use"
    assert (await client.delete(f"/v1/segments/{reader['id']}", headers=admin_headers)).status_code == 204
    assert (await client.get(f"/v1/segments/{reader['id']}", headers=admin_headers)).status_code == 404


async def test_contact_writes_queue_a_change_row_when_segments_read_fields(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Sessions, workspace: NewWorkspace
) -> None:
    await _segment(client, admin_headers, PRO)
    ann = await _contact(client, admin_headers, "q1@example.com", plan="free")
    await client.patch(f"/v1/contacts/{ann}", headers=admin_headers, json={"attributes": {"plan": "pro"}})
    changes = [r.name for r in await outbox(db, workspace.workspace.id) if r.contact_id == ann]
    assert changes == ["created", "updated"]


async def test_a_deleted_contact_leaves_its_segments(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    ann = await _contact(client, admin_headers, "d1@example.com", plan="pro")
    segment = await _segment(client, admin_headers, PRO)
    assert (await client.delete(f"/v1/contacts/{ann}", headers=admin_headers)).status_code == 204
    assert (await client.get(f"/v1/segments/{segment['id']}", headers=admin_headers)).json()["member_count"] == 0
    history = (await client.get(f"/v1/segments/{segment['id']}/history", headers=admin_headers)).json()["data"]
    assert history[0]["exited_at"] is not None
