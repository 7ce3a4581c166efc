"""Custom roles: create, list, read, update, delete. Built-in roles are fixed and listed with them."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.access.grants import require_within
from api.access.layer import PermissionLayer
from api.deps import Principal
from api.errors import Conflict, NotFound, Unprocessable
from api.schemas.access import RoleCreate, RolePublic, RoleUpdate
from domain.access.permissions import BUILTIN_ROLES, UnknownPermission, is_builtin, validated
from domain.clock import utcnow
from domain.ids import new_id
from store.access import get_role, list_roles, role_in_use
from store.models import Role

ROLE_EXISTS = "role_exists"
ROLE_IN_USE = "role_in_use"
BUILTIN_ROLE = "builtin_role"
UNKNOWN_PERMISSION = "unknown_permission"
ROLE_NOT_FOUND = "role_not_found"

BUILTIN_DESCRIPTIONS = {
    "owner": "Everything, including granting and removing the owner role.",
    "admin": "Everything but the owner role.",
    "marketer": "Audiences, journeys and sending; reads operations. No access, audit or settings changes.",
    "analyst": "Reads everything but access and audit; builds segments.",
    "viewer": "Reads audiences, journeys and delivery.",
}


def builtin_public(name: str) -> RolePublic:
    return RolePublic(
        id=name,
        name=name,
        description=BUILTIN_DESCRIPTIONS[name],
        permissions=sorted(BUILTIN_ROLES[name]),
        builtin=True,
    )


def public(role: Role) -> RolePublic:
    return RolePublic(
        id=role.id,
        name=role.name,
        description=role.description,
        permissions=sorted(role.permissions),
        builtin=False,
        created_at=role.created_at,
        updated_at=role.updated_at,
    )


def _checked(permissions: list[str]) -> frozenset[str]:
    try:
        return validated(permissions)
    except UnknownPermission as exc:
        raise Unprocessable(f"unknown permission {exc.args[0]!r}", code=UNKNOWN_PERMISSION) from exc


async def _custom(session: AsyncSession, principal: Principal, role_id: str) -> Role:
    if is_builtin(role_id):
        raise Conflict(f"{role_id!r} is a built-in role: its permissions are fixed", code=BUILTIN_ROLE)
    role = await get_role(session, principal.workspace_id, role_id)
    if role is None:
        raise NotFound(f"no role {role_id!r}", code=ROLE_NOT_FOUND)
    return role


async def create_role(session: AsyncSession, principal: Principal, body: RoleCreate) -> RolePublic:
    if is_builtin(body.name):
        raise Conflict(f"{body.name!r} is a built-in role", code=ROLE_EXISTS)
    permissions = _checked(body.permissions)
    require_within(permissions, principal.permissions, "this role")
    role = Role(
        id=new_id("role"),
        workspace_id=principal.workspace_id,
        name=body.name,
        description=body.description,
        permissions=sorted(permissions),
    )
    session.add(role)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(f"a role named {body.name!r} exists", code=ROLE_EXISTS) from exc
    return public(role)


async def roles_page(
    session: AsyncSession, principal: Principal, after: str | None, limit: int
) -> tuple[list[RolePublic], list[Role]]:
    """The built-in roles (on the first page only) and up to limit + 1 custom roles after the cursor."""
    builtins = [builtin_public(name) for name in BUILTIN_ROLES] if after is None else []
    return builtins, await list_roles(session, principal.workspace_id, after, limit + 1)


async def read_role(session: AsyncSession, principal: Principal, role_id: str) -> RolePublic:
    if is_builtin(role_id):
        return builtin_public(role_id)
    return public(await _custom(session, principal, role_id))


async def update_role(
    session: AsyncSession, principal: Principal, layer: PermissionLayer, role_id: str, body: RoleUpdate
) -> RolePublic:
    role = await _custom(session, principal, role_id)
    require_within(role.permissions, principal.permissions, "changing this role")
    if body.permissions is not None:
        permissions = _checked(body.permissions)
        require_within(permissions, principal.permissions, "this role")
        role.permissions = sorted(permissions)
    if body.description is not None:
        role.description = body.description
    role.updated_at = utcnow()
    await session.commit()
    layer.forget(principal.workspace_id, role.name)
    return public(role)


async def delete_role(session: AsyncSession, principal: Principal, layer: PermissionLayer, role_id: str) -> None:
    role = await _custom(session, principal, role_id)
    require_within(role.permissions, principal.permissions, "deleting this role")
    if await role_in_use(session, principal.workspace_id, role.name):
        raise Conflict(f"role {role.name!r} is held by users or API keys", code=ROLE_IN_USE)
    await session.delete(role)
    await session.commit()
    layer.forget(principal.workspace_id, role.name)
