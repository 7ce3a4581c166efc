"""The audit-log API: filtered pages, JSON-lines export and verification, on SQLite and PostgreSQL. A workspace's
chain opens with its own creation and its first keys (the row hook), so the seeded entries follow those."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from store.audit import record_audit
from store.db import create_async_db_engine, session_factory
from store.workspaces import NewWorkspace, create_api_key

Headers = dict[str, str]


async def _seed(database_url: str, workspace_id: str) -> None:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            for i in range(5):
                await record_audit(
                    session,
                    workspace_id=workspace_id,
                    action="contact.update",
                    target_type="contact" if i % 2 == 0 else "journey",
                    target_id=f"t_{i}",
                    before={"email": "jane@example.com"},
                    after={"email": "joan@example.com", "secret": "s3"},
                    actor="key:a" if i < 3 else "key:b",
                )
            await session.commit()
    finally:
        await engine.dispose()


async def _opening(client: httpx.AsyncClient, headers: Headers) -> int:
    """How many entries the chain holds before the test's own: the workspace's creation and its keys."""
    report = (await client.get("/v1/audit/verify", headers=headers)).json()
    count: int = report["entries"]
    return count


async def test_list_pages_and_filters(
    client: httpx.AsyncClient, admin_headers: Headers, database_url: str, workspace: NewWorkspace
) -> None:
    b = await _opening(client, admin_headers)
    assert b == 3  # workspace.created, write_key.created, api_key.created
    await _seed(database_url, workspace.workspace.id)
    seqs: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/audit", params=params, headers=admin_headers)).json()
        seqs += [entry["seq"] for entry in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seqs == list(range(1, b + 6))

    first = (await client.get("/v1/audit", params={"actor": "key:a"}, headers=admin_headers)).json()["data"][0]
    assert first["before"] == {"email": "j***@example.com"}
    assert first["after"]["secret"] == "[redacted]"

    def seqs_of(response: httpx.Response) -> list[int]:
        return [entry["seq"] for entry in response.json()["data"]]

    by_type = await client.get("/v1/audit", params={"target_type": "journey"}, headers=admin_headers)
    assert seqs_of(by_type) == [b + 2, b + 4]
    by_actor = await client.get("/v1/audit", params={"actor": "key:b"}, headers=admin_headers)
    assert seqs_of(by_actor) == [b + 4, b + 5]
    by_target = await client.get(
        "/v1/audit", params={"target_type": "contact", "target_id": "t_2"}, headers=admin_headers
    )
    assert seqs_of(by_target) == [b + 3]
    now = datetime.now(UTC)
    later = await client.get(
        "/v1/audit", params={"since": (now + timedelta(hours=1)).isoformat()}, headers=admin_headers
    )
    assert seqs_of(later) == []
    window = {"since": (now - timedelta(hours=1)).isoformat(), "until": (now + timedelta(hours=1)).isoformat()}
    assert len(seqs_of(await client.get("/v1/audit", params=window, headers=admin_headers))) == b + 5
    backwards = await client.get(
        "/v1/audit", params={"since": window["until"], "until": window["since"]}, headers=admin_headers
    )
    assert backwards.status_code == 422
    assert backwards.json()["error"]["code"] == "invalid_time_range"
    bad = await client.get("/v1/audit", params={"cursor": "garbage"}, headers=admin_headers)
    assert bad.status_code == 422


async def test_export_streams_json_lines_with_the_filters(
    client: httpx.AsyncClient, admin_headers: Headers, database_url: str, workspace: NewWorkspace
) -> None:
    b = await _opening(client, admin_headers)
    await _seed(database_url, workspace.workspace.id)
    response = await client.get("/v1/audit/export", params={"actor": "key:a"}, headers=admin_headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["seq"] for line in lines] == [b + 1, b + 2, b + 3]
    assert all(line["actor"] == "key:a" for line in lines)


async def test_verify_names_tampered_entries(
    client: httpx.AsyncClient, admin_headers: Headers, database_url: str, workspace: NewWorkspace
) -> None:
    ws = workspace.workspace.id
    opened = (await client.get("/v1/audit/verify", headers=admin_headers)).json()
    b = opened["entries"]
    assert opened == {"ok": True, "entries": b, "head_seq": b, "problems": []}
    await _seed(database_url, ws)
    assert (await client.get("/v1/audit/verify", headers=admin_headers)).json()["ok"] is True

    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            if session.get_bind().dialect.name == "postgresql":
                await session.execute(text("SET LOCAL session_replication_role = replica"))
            tampered = {"ws": ws, "s": b + 2}
            await session.execute(
                text("UPDATE audit_log SET action = 'x.y' WHERE workspace_id = :ws AND seq = :s"), tampered
            )
            await session.execute(
                text("DELETE FROM audit_log WHERE workspace_id = :ws AND seq = :s"), {"ws": ws, "s": b + 4}
            )
            await session.commit()
    finally:
        await engine.dispose()
    report = (await client.get("/v1/audit/verify", headers=admin_headers)).json()
    assert report["ok"] is False
    assert {(p["seq"], p["kind"]) for p in report["problems"]} == {(b + 2, "modified"), (b + 4, "deleted")}


async def test_other_workspaces_and_non_admin_keys_see_nothing(
    client: httpx.AsyncClient, admin_headers: Headers, database_url: str, workspace: NewWorkspace
) -> None:
    await _seed(database_url, workspace.workspace.id)
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            _, secret = await create_api_key(session, workspace.workspace.id, "reader", ["contacts:read"])
            await session.commit()
    finally:
        await engine.dispose()
    reader = {"Authorization": f"Bearer {secret}"}
    for path in ("/v1/audit", "/v1/audit/export", "/v1/audit/verify"):
        assert (await client.get(path, headers=reader)).status_code == 403
        assert (await client.get(path)).status_code == 401
