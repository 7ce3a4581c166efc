"""Automatic merge end to end on the real dev server, worker (with its dispatcher), API and database: a visitor's
anonymous events, then an identify linking its anonymousId to a known user, through the official Segment client;
within seconds the dispatcher has started the ContactMerge workflow, the visitor's events are on the user's
contact, and the visitor's contact reads as the survivor with `merged_into`."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from store.db import create_async_db_engine, session_factory
from store.models import ContactIdentity
from store.workspaces import NewWorkspace
from tests.e2e.test_contact_merge_e2e import counts
from tests.e2e.test_journey_e2e import segment_track

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


async def contact_of(api: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    for _ in range(200):
        response = await api.get("/v1/contacts/lookup", params=params)
        if response.status_code == 200:
            return dict(response.json())
        await asyncio.sleep(0.05)
    raise AssertionError(f"no contact for {params}: {response.text}")


async def anonymous_contact(database_url: str, workspace_id: str, anonymous_id: str) -> str:
    engine = create_async_db_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            query = select(col(ContactIdentity.contact_id)).where(
                col(ContactIdentity.workspace_id) == workspace_id,
                col(ContactIdentity.kind) == "anonymous",
                col(ContactIdentity.value) == anonymous_id,
            )
            return str((await session.execute(query)).scalar_one())
    finally:
        await engine.dispose()


async def test_a_visitor_who_logs_in_is_merged_into_the_user(
    base_url: str, workspace: NewWorkspace, database_url: str
) -> None:
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {workspace.api_key}"}, timeout=30
    ) as api:
        known = [("identify", {"user_id": "u-zoe", "traits": {"email": "zoe@example.test"}, "message_id": "known"})]
        assert await asyncio.to_thread(segment_track, workspace.write_key, base_url, known) == []
        user = (await contact_of(api, external_id="u-zoe"))["id"]
        visits = [
            ("track", {"anonymous_id": "visitor-1", "event": "Viewed Pricing", "message_id": f"visit-{n}"})
            for n in range(3)
        ]
        assert await asyncio.to_thread(segment_track, workspace.write_key, base_url, visits) == []
        visitor = await anonymous_contact(database_url, workspace.workspace.id, "visitor-1")
        assert visitor != user
        before = (await counts(database_url, user))["event"]
        assert (await counts(database_url, visitor))["event"] == 3

        login = [("identify", {"user_id": "u-zoe", "anonymous_id": "visitor-1", "message_id": "login"})]
        assert await asyncio.to_thread(segment_track, workspace.write_key, base_url, login) == []
        for _ in range(200):  # ten seconds at most
            if (await counts(database_url, visitor))["event"] == 0:
                break
            await asyncio.sleep(0.05)
        assert (await counts(database_url, user))["event"] == before + 3 + 1  # the visits and the login
        assert (await counts(database_url, visitor))["event"] == 0
        read = (await api.get(f"/v1/contacts/{visitor}")).json()
        assert (read["id"], read["merged_into"], read["email"]) == (user, user, "zoe@example.test")
        history = (await api.get(f"/v1/contacts/{user}/merges")).json()["data"]
        assert [(m["merged_id"], m["status"]) for m in history] == [(visitor, "completed")]
        # the visitor's anonymous id now names the user
        assert await anonymous_contact(database_url, workspace.workspace.id, "visitor-1") == user
