"""API keys: issued with a role or a scope set (the secret is returned once), listed, rotated and revoked."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.access.keys import find_key, issue_key, public, revoke_key, rotate_key
from api.deps import AccessDelete, AccessRead, AccessWrite, Session
from api.pagination import Cursor, Page, page_of
from api.schemas.access import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from api.validation import ResourceId
from store.access import list_api_keys

router = APIRouter(prefix="/v1/api-keys", tags=["access"])


@router.post("", status_code=201)
async def issue_api_key(body: ApiKeyCreate, principal: AccessWrite, session: Session) -> ApiKeyCreated:
    """A key acting as `role` (built-in or custom) or holding `scopes`; never more than the calling key holds."""
    return await issue_key(session, principal, body)


@router.get("")
async def list_api_keys_route(
    principal: AccessRead,
    session: Session,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[ApiKeyPublic]:
    """The workspace's keys, revoked ones included; never a secret."""
    rows, next_cursor = page_of(await list_api_keys(session, principal.workspace_id, cursor, limit + 1), limit)
    return Page(data=[public(key) for key in rows], next_cursor=next_cursor)


@router.get("/{key_id}")
async def get_api_key(key_id: ResourceId, principal: AccessRead, session: Session) -> ApiKeyPublic:
    return public(await find_key(session, principal, key_id))


@router.post("/{key_id}/rotate")
async def rotate_api_key(key_id: ResourceId, principal: AccessWrite, session: Session) -> ApiKeyCreated:
    """A new secret, returned once; the old one stops working immediately."""
    return await rotate_key(session, principal, key_id)


@router.delete("/{key_id}", status_code=204)
async def revoke_api_key(key_id: ResourceId, principal: AccessDelete, session: Session) -> Response:
    """Revoke the key: it answers 401 `invalid_api_key` from now on. Idempotent."""
    await revoke_key(session, principal, key_id)
    return Response(status_code=204)
