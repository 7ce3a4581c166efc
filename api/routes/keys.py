"""Scoped API keys, issued by an admin key. The secret is returned once."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import Admin, Session
from api.schemas.base import SafeInput
from domain.access.keys import Scope
from store.workspaces import create_api_key

router = APIRouter(prefix="/v1/api-keys", tags=["access"])


class ApiKeyCreate(SafeInput):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(min_length=1)


class ApiKeyCreated(BaseModel):
    id: str
    name: str
    scopes: list[str]
    created_at: datetime
    key: str = Field(description="The secret; shown once, stored hashed.")


@router.post("", status_code=201)
async def issue_api_key(body: ApiKeyCreate, principal: Admin, session: Session) -> ApiKeyCreated:
    key, secret = await create_api_key(
        session, principal.workspace_id, body.name, sorted({scope.value for scope in body.scopes})
    )
    return ApiKeyCreated(id=key.id, name=key.name, scopes=key.scopes, created_at=key.created_at, key=secret)
