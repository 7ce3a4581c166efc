"""Users of the calling key's workspace, each with one role there."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.access import users as service
from api.deps import AccessDelete, AccessRead, AccessWrite, Session
from api.pagination import Cursor, Page, encode_cursor
from api.schemas.access import UserCreate, UserPublic, UserUpdate
from api.validation import ResourceId

router = APIRouter(prefix="/v1/users", tags=["access"])


@router.post("", status_code=201)
async def add_user(body: UserCreate, principal: AccessWrite, session: Session) -> UserPublic:
    """Add a user (created on first sight of the email) with a role no stronger than the calling key's."""
    return await service.add_user(session, principal, body)


@router.get("")
async def list_users(
    principal: AccessRead,
    session: Session,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[UserPublic]:
    rows = await service.users_page(session, principal, cursor, limit)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1][0].id) if len(rows) > limit else None
    return Page(data=[service.public(user, membership) for user, membership in page], next_cursor=next_cursor)


@router.get("/{user_id}")
async def get_user(user_id: ResourceId, principal: AccessRead, session: Session) -> UserPublic:
    return await service.read_user(session, principal, user_id)


@router.patch("/{user_id}")
async def update_user(user_id: ResourceId, body: UserUpdate, principal: AccessWrite, session: Session) -> UserPublic:
    """Change the user's role here (409 `last_owner` for the last owner) or name."""
    return await service.update_user(session, principal, user_id, body)


@router.delete("/{user_id}", status_code=204)
async def remove_user(user_id: ResourceId, principal: AccessDelete, session: Session) -> Response:
    """Remove the user from this workspace (409 `last_owner` for the last owner)."""
    await service.remove_user(session, principal, user_id)
    return Response(status_code=204)
