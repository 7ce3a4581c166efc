"""Roles: the five built-in roles (fixed) and the workspace's custom roles, with permissions per resource and
action (`resource:action`, see GET /v1/roles for the built-ins' sets)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.access import roles as service
from api.deps import AccessDelete, AccessRead, AccessWrite, Layer, Session
from api.pagination import Cursor, Page, page_of
from api.schemas.access import RoleCreate, RolePublic, RoleUpdate
from api.validation import ResourceId

router = APIRouter(prefix="/v1/roles", tags=["access"])


@router.post("", status_code=201)
async def create_role(body: RoleCreate, principal: AccessWrite, session: Session) -> RolePublic:
    return await service.create_role(session, principal, body)


@router.get("")
async def list_roles(
    principal: AccessRead,
    session: Session,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[RolePublic]:
    """The built-in roles first (on the first page, beside `limit` custom roles), then the custom ones."""
    builtins, rows = await service.roles_page(session, principal, cursor, limit)
    page, next_cursor = page_of(rows, limit)
    return Page(data=builtins + [service.public(role) for role in page], next_cursor=next_cursor)


@router.get("/{role_id}")
async def get_role(role_id: ResourceId, principal: AccessRead, session: Session) -> RolePublic:
    """A custom role by id, or a built-in role by name."""
    return await service.read_role(session, principal, role_id)


@router.patch("/{role_id}")
async def update_role(
    role_id: ResourceId, body: RoleUpdate, principal: AccessWrite, session: Session, layer: Layer
) -> RolePublic:
    """Change a custom role's description or permissions (its name is fixed: keys and users refer to it)."""
    return await service.update_role(session, principal, layer, role_id, body)


@router.delete("/{role_id}", status_code=204)
async def delete_role(role_id: ResourceId, principal: AccessDelete, session: Session, layer: Layer) -> Response:
    """409 `role_in_use` while a user or an unrevoked key holds it; 409 `builtin_role` for a built-in."""
    await service.delete_role(session, principal, layer, role_id)
    return Response(status_code=204)
