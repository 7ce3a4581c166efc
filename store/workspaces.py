"""Workspaces and their keys."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.access.keys import API_KEY_PREFIX, WRITE_KEY_PREFIX, Scope, digest, new_secret
from domain.ids import new_id
from store.models import ApiKey, Workspace, WriteKey


@dataclass(frozen=True)
class NewWorkspace:
    workspace: Workspace
    write_key: str
    api_key: str


async def create_workspace(session: AsyncSession, name: str) -> NewWorkspace:
    workspace = Workspace(id=new_id("ws"), name=name)
    write_key = new_secret(WRITE_KEY_PREFIX)
    api_key = new_secret(API_KEY_PREFIX)
    session.add(workspace)
    await session.flush()
    session.add(WriteKey(id=new_id("wk"), workspace_id=workspace.id, key_hash=digest(write_key)))
    session.add(
        ApiKey(
            id=new_id("key"),
            workspace_id=workspace.id,
            name="admin",
            key_hash=digest(api_key),
            scopes=[Scope.ADMIN.value],
        )
    )
    await session.commit()
    return NewWorkspace(workspace=workspace, write_key=write_key, api_key=api_key)


async def create_api_key(
    session: AsyncSession, workspace_id: str, name: str, scopes: list[str], *, role: str | None = None
) -> tuple[ApiKey, str]:
    """A key with a scope set, or acting as `role` (then `scopes` is empty)."""
    secret = new_secret(API_KEY_PREFIX)
    key = ApiKey(
        id=new_id("key"), workspace_id=workspace_id, name=name, key_hash=digest(secret), scopes=scopes, role=role
    )
    session.add(key)
    await session.commit()
    return key, secret


async def find_api_key(session: AsyncSession, secret: str) -> ApiKey | None:
    result = await session.execute(select(ApiKey).where(col(ApiKey.key_hash) == digest(secret)))
    return result.scalar_one_or_none()


async def find_write_key(session: AsyncSession, secret: str) -> WriteKey | None:
    result = await session.execute(select(WriteKey).where(col(WriteKey.key_hash) == digest(secret)))
    return result.scalar_one_or_none()
