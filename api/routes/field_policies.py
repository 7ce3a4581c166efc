"""Field-level controls per role: which contact fields a role reads masked, cannot see, or cannot change
(service: api/field_policies/service.py; enforcement: api/field_policies/current.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import Admin, AppContextDep, Session
from api.schemas.field_policies import FieldPolicyPublic, FieldPolicyPut
from domain.access.fields import ROLE_PATTERN
from store.models_field_policies import FieldPolicyRow

router = APIRouter(prefix="/v1/field-policies", tags=["access"])
Role = Annotated[str, Path(pattern=ROLE_PATTERN, description="A built-in role (owner, admin, marketer, analyst, "
                           "viewer) or a custom role's name")]  # fmt: skip


def _public(role: str, row: FieldPolicyRow | None) -> FieldPolicyPublic:
    if row is None:
        return FieldPolicyPublic(role=role, fields={}, updated_at=None)
    return FieldPolicyPublic.model_validate({"role": role, "fields": row.fields, "updated_at": row.updated_at})


@router.get("/{role}")
async def read_field_policy(role: Role, principal: Admin, session: Session) -> FieldPolicyPublic:
    """The role's field policy in this workspace (none set: every field visible)."""
    return _public(role, await session.get(FieldPolicyRow, (principal.workspace_id, role)))


@router.put("/{role}")
async def put_field_policy(
    role: Role, body: FieldPolicyPut, principal: Admin, session: Session, context: AppContextDep
) -> FieldPolicyPublic:
    """Replaces the role's field policy. Applies at once on this replica, within 5 s on the others."""
    fields = {name: mode.value for name, mode in body.fields.items()}
    await context.field_policies.put(session, principal.workspace_id, role, fields)
    return _public(role, await session.get(FieldPolicyRow, (principal.workspace_id, role)))
