"""Automatic merges on ingestion (SQLite, and PostgreSQL when configured): an identify or alias linking an
anonymous visitor's contact to a known user writes a running ContactMerge row and a `contact_merge` outbox row in
the ingestion transaction (audited `contact.merge`); a retried message, a later one linking the same pair, two
users or the policy's auto_merge off write none. tests/e2e/test_auto_merge_e2e.py runs the merge itself."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select
from sqlmodel import col

from domain.events.interest import OutboxKind
from domain.identity.runtime import merge_workflow_id
from store.models import DispatchOutbox
from store.models_identity import ContactMerge
from store.workspaces import NewWorkspace
from tests.api.ingest_support import Sessions, contacts, post, ws

H = dict[str, str]


def message(kind: str, mid: str, user: str | None = None, anon: str | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind, "messageId": mid, **fields}
    if user:
        body["userId"] = user
    if anon:
        body["anonymousId"] = anon
    return body


async def merges_and_rows(db: Sessions, workspace_id: str) -> tuple[list[ContactMerge], list[DispatchOutbox]]:
    async with db() as session:
        merges = await session.execute(select(ContactMerge).where(col(ContactMerge.workspace_id) == workspace_id))
        rows = await session.execute(
            select(DispatchOutbox).where(
                col(DispatchOutbox.workspace_id) == workspace_id,
                col(DispatchOutbox.kind) == OutboxKind.CONTACT_MERGE.value,
            )
        )
        return list(merges.scalars()), list(rows.scalars())


async def _by_external_id(db: Sessions, workspace_id: str) -> dict[str | None, str]:
    return {c.external_id: c.id for c in await contacts(db, workspace_id)}


async def test_a_visitor_who_logs_in_is_merged_into_the_known_user(
    client: httpx.AsyncClient, auth: H, admin_headers: H, workspace: NewWorkspace, db: Sessions
) -> None:
    await post(client, "/v1/identify", auth, message("identify", "u1", user="u-ann", traits={"plan": "pro"}))
    await post(client, "/v1/track", auth, message("track", "t1", anon="a-1", event="Viewed"))
    await post(client, "/v1/track", auth, message("track", "t2", anon="a-1", event="Pricing"))
    ids = await _by_external_id(db, ws(workspace))
    user, visitor = ids["u-ann"], ids[None]

    login = message("identify", "login", user="u-ann", anon="a-1", traits={"plan": "pro"})
    await post(client, "/v1/identify", auth, login)
    [merge], [row] = await merges_and_rows(db, ws(workspace))
    assert (merge.survivor_id, merge.merged_id, merge.status) == (user, visitor, "running")
    assert merge.workflow_id == merge_workflow_id(ws(workspace), merge.id)
    assert (row.contact_id, row.event_id, row.name) == (visitor, merge.id, user)
    params = {"target_type": "contact", "target_id": visitor}
    [audited] = (await client.get("/v1/audit", params=params, headers=admin_headers)).json()["data"]
    assert (audited["action"], audited["after"]["merge_id"], audited["after"]["automatic"]) == (
        "contact.merge",
        merge.id,
        True,
    )

    await post(client, "/v1/identify", auth, login)  # retried: stored already, plans nothing
    await post(client, "/v1/track", auth, message("track", "t3", user="u-ann", anon="a-1", event="Viewed"))
    await post(client, "/v1/alias", auth, message("alias", "al", user="u-ann", previousId="a-1"))
    assert [len(found) for found in await merges_and_rows(db, ws(workspace))] == [1, 1]


async def test_no_merge_of_two_users_nor_with_auto_merge_off(
    client: httpx.AsyncClient, auth: H, admin_headers: H, workspace: NewWorkspace, db: Sessions
) -> None:
    await post(client, "/v1/identify", auth, message("identify", "u1", user="u-1", anon="shared"))
    await post(client, "/v1/identify", auth, message("identify", "u2", user="u-2"))
    await post(client, "/v1/track", auth, message("track", "t1", user="u-2", anon="shared", event="Viewed"))
    await post(client, "/v1/alias", auth, message("alias", "al", user="u-2", previousId="u-1"))
    assert await merges_and_rows(db, ws(workspace)) == ([], [])

    policy = (await client.get("/v1/identity/merge-policy", headers=admin_headers)).json()
    put = await client.put("/v1/identity/merge-policy", headers=admin_headers, json={**policy, "auto_merge": False})
    assert put.status_code == 200, put.text
    await post(client, "/v1/track", auth, message("track", "t2", anon="a-9", event="Viewed"))
    await post(client, "/v1/identify", auth, message("identify", "login", user="u-2", anon="a-9"))
    await post(client, "/v1/alias", auth, message("alias", "al2", user="u-2", previousId="a-9"))
    await post(
        client, "/v1/identify", auth, message("identify", "k", user="u-2", anon="a-9", traits={"email": "x@y.test"})
    )
    assert await merges_and_rows(db, ws(workspace)) == ([], [])


async def test_concurrent_logins_write_one_merge(
    client: httpx.AsyncClient, auth: H, workspace: NewWorkspace, db: Sessions
) -> None:
    await post(client, "/v1/identify", auth, message("identify", "u1", user="u-bo"))
    await post(client, "/v1/track", auth, message("track", "t1", anon="a-bo", event="Viewed"))
    logins = [message("identify", f"login-{n}", user="u-bo", anon="a-bo") for n in range(6)]
    await asyncio.gather(*(post(client, "/v1/identify", auth, body) for body in logins))
    assert [len(found) for found in await merges_and_rows(db, ws(workspace))] == [1, 1]
