"""Per-workspace role field policies: stored when a workspace set one, everything visible otherwise."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.fields import UNRESTRICTED, FieldPolicy
from domain.clock import utcnow
from store.models_field_policies import FieldPolicyRow

# how long an API replica or dispatcher keeps a role's policy: a change is seen everywhere within this
FIELD_POLICY_TTL = 5.0


async def field_policy(session: AsyncSession, workspace_id: str, role: str) -> FieldPolicy:
    row = await session.get(FieldPolicyRow, (workspace_id, role))
    return UNRESTRICTED if row is None else FieldPolicy.parse(row.fields)


async def put_field_policy(session: AsyncSession, workspace_id: str, role: str, policy: FieldPolicy) -> None:
    """Adds or changes the row in the caller's transaction."""
    row = await session.get(FieldPolicyRow, (workspace_id, role))
    if row is None:
        session.add(FieldPolicyRow(workspace_id=workspace_id, role=role, fields=policy.as_json()))
    else:
        row.fields = policy.as_json()
        row.updated_at = utcnow()
        session.add(row)
