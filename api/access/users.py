"""Users of a workspace: add (creating the user on first sight of the email), list, read, change, remove.

Guards: a role is granted only within what the calling key holds (so only an owner, or the workspace's
bootstrap admin-scope key, grants owner); changing or removing an owner needs `access:admin`; the last owner is
never removed nor demoted.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.access.grants import require_within, role_permissions
from api.deps import Principal
from api.errors import Conflict, NotFound, Unprocessable
from api.schemas.access import UserCreate, UserPublic, UserUpdate
from api.validation import normalized_email
from domain.access.permissions import OWNER, OWNER_ADMIN
from domain.ids import new_id
from store.access import (
    count_memberships,
    count_owners,
    find_user_by_email,
    get_membership,
    get_user,
    list_members,
)
from store.models import Membership, User

USER_EXISTS = "user_exists"
USER_NOT_FOUND = "user_not_found"
LAST_OWNER = "last_owner"


def public(user: User, membership: Membership) -> UserPublic:
    return UserPublic(id=user.id, email=user.email, name=user.name, role=membership.role, created_at=user.created_at)


async def _member(session: AsyncSession, principal: Principal, user_id: str) -> tuple[User, Membership]:
    membership = await get_membership(session, principal.workspace_id, user_id)
    user = await get_user(session, user_id) if membership is not None else None
    if user is None or membership is None:
        raise NotFound(f"no user {user_id!r} in this workspace", code=USER_NOT_FOUND)
    return user, membership


async def add_user(session: AsyncSession, principal: Principal, body: UserCreate) -> UserPublic:
    email = normalized_email(body.email)
    if email is None:
        raise Unprocessable(f"{body.email!r} is not a valid email address", code="invalid_email")
    require_within(await role_permissions(session, principal.workspace_id, body.role), principal.permissions, "role")
    user = await find_user_by_email(session, email)
    if user is None:
        user = User(id=new_id("usr"), email=email, name=body.name)
        session.add(user)
    elif await get_membership(session, principal.workspace_id, user.id) is not None:
        raise Conflict(f"{email} is already a user of this workspace", code=USER_EXISTS)
    membership = Membership(workspace_id=principal.workspace_id, user_id=user.id, role=body.role)
    session.add(membership)
    try:
        await session.commit()
    except IntegrityError as exc:  # the same email added concurrently
        await session.rollback()
        raise Conflict(f"{email} is already a user", code=USER_EXISTS) from exc
    return public(user, membership)


async def users_page(
    session: AsyncSession, principal: Principal, after: str | None, limit: int
) -> list[tuple[User, Membership]]:
    return await list_members(session, principal.workspace_id, after, limit + 1)


async def read_user(session: AsyncSession, principal: Principal, user_id: str) -> UserPublic:
    return public(*await _member(session, principal, user_id))


async def _guard_owner_change(session: AsyncSession, principal: Principal, membership: Membership) -> None:
    """Before an owner's membership is demoted or removed: `access:admin`, and another owner remains."""
    if membership.role != OWNER:
        return
    require_within({OWNER_ADMIN}, principal.permissions, "changing an owner")
    if await count_owners(session, principal.workspace_id, OWNER) <= 1:
        raise Conflict("the workspace's last owner cannot be removed or demoted", code=LAST_OWNER)


async def update_user(session: AsyncSession, principal: Principal, user_id: str, body: UserUpdate) -> UserPublic:
    user, membership = await _member(session, principal, user_id)
    if body.role is not None and body.role != membership.role:
        current = await role_permissions(session, principal.workspace_id, membership.role)
        require_within(current, principal.permissions, "changing this user")
        granted = await role_permissions(session, principal.workspace_id, body.role)
        require_within(granted, principal.permissions, "role")
        await _guard_owner_change(session, principal, membership)
        membership.role = body.role
    if body.name is not None:
        user.name = body.name
    await session.commit()
    return public(user, membership)


async def remove_user(session: AsyncSession, principal: Principal, user_id: str) -> None:
    """Remove the membership; the user itself goes too when it belongs to no other workspace."""
    user, membership = await _member(session, principal, user_id)
    current = await role_permissions(session, principal.workspace_id, membership.role)
    require_within(current, principal.permissions, "removing this user")
    await _guard_owner_change(session, principal, membership)
    await session.delete(membership)
    await session.flush()
    if await count_memberships(session, user.id) == 0:
        await session.delete(user)
    await session.commit()
