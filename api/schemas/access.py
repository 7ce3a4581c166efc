"""Bodies and representations of users, roles and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from api.schemas.base import SafeInput
from domain.access.keys import Scope

RoleName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z][a-z0-9_-]*$",
        description="A built-in role (owner, admin, marketer, analyst, viewer) or a custom role's name",
    ),
]
PermissionName = Annotated[str, Field(max_length=64, description="`resource:action`, e.g. `contacts:read`")]


class UserCreate(SafeInput):
    email: str = Field(min_length=3, max_length=320)
    name: str = Field(min_length=1, max_length=200)
    role: RoleName


class UserUpdate(SafeInput):
    role: RoleName | None = None
    name: str | None = Field(None, min_length=1, max_length=200)


class UserPublic(BaseModel):
    id: str
    email: str
    name: str
    role: str = Field(description="The user's role in this workspace")
    created_at: datetime


class RoleCreate(SafeInput):
    name: RoleName
    description: str = Field("", max_length=500)
    permissions: list[PermissionName] = Field(max_length=200)


class RoleUpdate(SafeInput):
    description: str | None = Field(None, max_length=500)
    permissions: list[PermissionName] | None = Field(None, max_length=200)


class RolePublic(BaseModel):
    id: str = Field(description="A custom role's id, or a built-in role's name")
    name: str
    description: str
    permissions: list[str]
    builtin: bool
    created_at: datetime | None = None
    updated_at: datetime | None = None


class ApiKeyCreate(SafeInput):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] | None = Field(None, min_length=1, description="A legacy scope set (or give `role`)")
    role: RoleName | None = Field(None, description="The role the key acts as (or give `scopes`)")


class ApiKeyPublic(BaseModel):
    id: str
    name: str
    scopes: list[str]
    role: str | None
    created_at: datetime
    last_used_at: datetime | None = Field(description="Recorded at most once a minute")
    rotated_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(BaseModel):
    id: str
    name: str
    scopes: list[str]
    role: str | None = None
    created_at: datetime
    key: str = Field(description="The secret; shown once, stored hashed.")
