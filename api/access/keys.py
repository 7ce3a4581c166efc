"""API keys' lifecycle: issue (with a role or a scope set), list, read, rotate, revoke.

A key never grants more than the key issuing, rotating or revoking it holds. Rotation replaces the stored digest:
the old secret stops working immediately. A revoked key answers 401 `invalid_api_key`.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from api.access.grants import require_within, role_permissions
from api.deps import Principal
from api.errors import Conflict, NotFound, Unprocessable
from api.schemas.access import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from domain.access.keys import API_KEY_PREFIX, digest, new_secret
from domain.access.permissions import scope_permissions
from domain.clock import utcnow
from store.access import get_api_key
from store.models import ApiKey
from store.workspaces import create_api_key

KEY_NOT_FOUND = "api_key_not_found"
KEY_REVOKED = "api_key_revoked"
ROLE_OR_SCOPES = "role_or_scopes"


def public(key: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=key.id,
        name=key.name,
        scopes=key.scopes,
        role=key.role,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        rotated_at=key.rotated_at,
        revoked_at=key.revoked_at,
    )


def created(key: ApiKey, secret: str) -> ApiKeyCreated:
    return ApiKeyCreated(
        id=key.id, name=key.name, scopes=key.scopes, role=key.role, created_at=key.created_at, key=secret
    )


async def key_permissions(session: AsyncSession, key: ApiKey) -> frozenset[str]:
    if key.role is None:
        return scope_permissions(key.scopes)
    return await role_permissions(session, key.workspace_id, key.role)


async def issue_key(session: AsyncSession, principal: Principal, body: ApiKeyCreate) -> ApiKeyCreated:
    if (body.role is None) == (body.scopes is None):
        raise Unprocessable("give either `role` or `scopes`", code=ROLE_OR_SCOPES)
    if body.role is not None:
        granted = await role_permissions(session, principal.workspace_id, body.role)
        scopes: list[str] = []
    else:
        scopes = sorted({scope.value for scope in body.scopes or []})
        granted = scope_permissions(scopes)
    require_within(granted, principal.permissions, "this key")
    key, secret = await create_api_key(session, principal.workspace_id, body.name, scopes, role=body.role)
    await session.commit()
    return created(key, secret)


async def find_key(session: AsyncSession, principal: Principal, key_id: str) -> ApiKey:
    key = await get_api_key(session, principal.workspace_id, key_id)
    if key is None:
        raise NotFound(f"no API key {key_id!r}", code=KEY_NOT_FOUND)
    return key


async def rotate_key(session: AsyncSession, principal: Principal, key_id: str) -> ApiKeyCreated:
    key = await find_key(session, principal, key_id)
    if key.revoked_at is not None:
        raise Conflict("a revoked key cannot be rotated", code=KEY_REVOKED)
    require_within(await key_permissions(session, key), principal.permissions, "rotating this key")
    secret = new_secret(API_KEY_PREFIX)
    key.key_hash = digest(secret)
    key.rotated_at = utcnow()
    await session.commit()
    return created(key, secret)


async def revoke_key(session: AsyncSession, principal: Principal, key_id: str) -> None:
    """Revoke (idempotent: revoking a revoked key changes nothing)."""
    key = await find_key(session, principal, key_id)
    if key.revoked_at is not None:
        return
    require_within(await key_permissions(session, key), principal.permissions, "revoking this key")
    key.revoked_at = utcnow()
    await session.commit()
