"""Helpers shared by the ingestion API tests: credentials, posting, and reading back what was stored."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.models import Contact, ContactIdentity, Event
from store.workspaces import NewWorkspace

Sessions = async_sessionmaker[AsyncSession]


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


async def events(db: Sessions, workspace_id: str) -> list[Event]:
    async with db() as session:
        result = await session.execute(
            select(Event).where(Event.workspace_id == workspace_id).order_by(Event.timestamp, Event.id)  # type: ignore[arg-type]
        )
        return list(result.scalars())


async def contacts(db: Sessions, workspace_id: str) -> list[Contact]:
    async with db() as session:
        result = await session.execute(select(Contact).where(Contact.workspace_id == workspace_id))  # type: ignore[arg-type]
        return list(result.scalars())


async def identities(db: Sessions, workspace_id: str) -> set[tuple[str, str, str]]:
    async with db() as session:
        result = await session.execute(
            select(ContactIdentity).where(ContactIdentity.workspace_id == workspace_id)  # type: ignore[arg-type]
        )
        return {(i.kind, i.value, i.contact_id) for i in result.scalars()}


async def row_counts(db: Sessions, workspace_id: str) -> tuple[int, int, int]:
    """Events, contacts and identities of the workspace."""
    return (
        len(await events(db, workspace_id)),
        len(await contacts(db, workspace_id)),
        len(await identities(db, workspace_id)),
    )


async def post(client: httpx.AsyncClient, path: str, auth: dict[str, str], body: Any) -> httpx.Response:
    response = await client.post(path, headers=auth, json=body)
    assert response.status_code == 200, response.text
    assert response.content == b'{"success": true}'  # byte for byte, as Segment answers
    return response


def ws(workspace: NewWorkspace) -> str:
    return workspace.workspace.id
