"""Users, memberships, custom roles and API keys' lifecycle: the queries the access service runs."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.models import ApiKey, Membership, Role, User


async def get_user(session: AsyncSession, user_id: str) -> User | None:
    return await session.get(User, user_id)


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(col(User.email) == email))
    return result.scalar_one_or_none()


async def get_membership(session: AsyncSession, workspace_id: str, user_id: str) -> Membership | None:
    return await session.get(Membership, (workspace_id, user_id))


async def list_members(
    session: AsyncSession, workspace_id: str, after: str | None, limit: int
) -> list[tuple[User, Membership]]:
    query = (
        select(User, Membership)
        .join(Membership, col(Membership.user_id) == col(User.id))
        .where(col(Membership.workspace_id) == workspace_id)
        .order_by(col(User.id))
        .limit(limit)
    )
    if after is not None:
        query = query.where(col(User.id) > after)
    return [(user, membership) for user, membership in (await session.execute(query)).all()]


async def count_owners(session: AsyncSession, workspace_id: str, owner_role: str) -> int:
    """The workspace's owners, their membership rows locked until commit (PostgreSQL `FOR UPDATE`): of two
    concurrent demotions of the last two owners, the second waits for the first, re-reads the rows and counts
    one owner left, so a workspace never ends with none. (SQLite runs one writer at a time; a transaction whose
    read went stale fails to write rather than writing.)"""
    query = (
        select(col(Membership.user_id))
        .where(col(Membership.workspace_id) == workspace_id, col(Membership.role) == owner_role)
        .with_for_update()
    )
    return len((await session.execute(query)).scalars().all())


async def count_memberships(session: AsyncSession, user_id: str) -> int:
    query = select(func.count()).where(col(Membership.user_id) == user_id)
    return int((await session.execute(query)).scalar_one())


async def get_role(session: AsyncSession, workspace_id: str, role_id: str) -> Role | None:
    role = await session.get(Role, role_id)
    return role if role is not None and role.workspace_id == workspace_id else None


async def find_role(session: AsyncSession, workspace_id: str, name: str) -> Role | None:
    query = select(Role).where(col(Role.workspace_id) == workspace_id, col(Role.name) == name)
    return (await session.execute(query)).scalar_one_or_none()


async def list_roles(session: AsyncSession, workspace_id: str, after: str | None, limit: int) -> list[Role]:
    query = select(Role).where(col(Role.workspace_id) == workspace_id).order_by(col(Role.id)).limit(limit)
    if after is not None:
        query = query.where(col(Role.id) > after)
    return list((await session.execute(query)).scalars())


async def role_in_use(session: AsyncSession, workspace_id: str, name: str) -> bool:
    """Whether a membership or an unrevoked key of the workspace acts as the role."""
    members = select(col(Membership.user_id)).where(
        col(Membership.workspace_id) == workspace_id, col(Membership.role) == name
    )
    keys = select(col(ApiKey.id)).where(
        col(ApiKey.workspace_id) == workspace_id, col(ApiKey.role) == name, col(ApiKey.revoked_at).is_(None)
    )
    for query in (members.limit(1), keys.limit(1)):
        if (await session.execute(query)).first() is not None:
            return True
    return False


async def get_api_key(session: AsyncSession, workspace_id: str, key_id: str) -> ApiKey | None:
    key = await session.get(ApiKey, key_id)
    return key if key is not None and key.workspace_id == workspace_id else None


async def list_api_keys(session: AsyncSession, workspace_id: str, after: str | None, limit: int) -> list[ApiKey]:
    query = select(ApiKey).where(col(ApiKey.workspace_id) == workspace_id).order_by(col(ApiKey.id)).limit(limit)
    if after is not None:
        query = query.where(col(ApiKey.id) > after)
    return list((await session.execute(query)).scalars())


async def mark_used(session: AsyncSession, key_id: str, now: datetime, every: timedelta) -> bool:
    """Record that the key was used now, unless that was recorded less than `every` ago (one conditional UPDATE,
    so concurrent requests and several API processes write it at most once per period). True when written."""
    result = await session.execute(
        update(ApiKey)
        .where(
            col(ApiKey.id) == key_id,
            or_(col(ApiKey.last_used_at).is_(None), col(ApiKey.last_used_at) <= now - every),
        )
        .values(last_used_at=now)
    )
    await session.commit()
    return bool(getattr(result, "rowcount", 0))
