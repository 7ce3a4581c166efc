"""Reading and setting role field policies. Reads go through the process's cached reader (store/field_policies.py
`FieldPolicies`, which the dispatcher uses too): a change made through `PUT /v1/field-policies/{role}` applies at
once on the replica that took it and within FIELD_POLICY_TTL seconds everywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Unprocessable
from domain.access.fields import FieldPolicy, FieldPolicyError
from store.field_policies import FIELD_POLICY_TTL, FieldPolicies, put_field_policy


class FieldPolicyService:
    def __init__(self, ttl: float = FIELD_POLICY_TTL) -> None:
        self.policies = FieldPolicies(ttl)

    async def of(self, session: AsyncSession, workspace_id: str, role: str | None) -> FieldPolicy:
        """The policy a key acting as `role` reads under; a key with no role (a scope set) is unrestricted."""
        return await self.policies.of(session, workspace_id, role)

    async def put(self, session: AsyncSession, workspace_id: str, role: str, fields: Mapping[str, str]) -> FieldPolicy:
        try:
            policy = FieldPolicy.parse(fields)
        except FieldPolicyError as exc:
            raise Unprocessable(str(exc), code="invalid_field_policy", details={"field": exc.field_name}) from exc
        await put_field_policy(session, workspace_id, role, policy)  # audited by the row hook
        await session.commit()
        self.policies.forget(workspace_id, role)
        return policy
