"""Reading and setting role field policies, cached per replica.

A policy is read on every authenticated request whose key acts as a role, so it is cached per (workspace, role)
for FIELD_POLICY_TTL seconds in each API replica (and each dispatcher, for webhook payloads): a change made
through `PUT /v1/field-policies/{role}` applies at once on the replica that took it and within that many seconds
everywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Unprocessable
from domain.access.fields import UNRESTRICTED, FieldPolicy, FieldPolicyError
from mauntic.ttl_cache import TtlCache
from store.field_policies import FIELD_POLICY_TTL, field_policy, put_field_policy


class FieldPolicyService:
    def __init__(self, ttl: float = FIELD_POLICY_TTL) -> None:
        self._cache: TtlCache[tuple[str, str], FieldPolicy] = TtlCache(ttl)

    async def of(self, session: AsyncSession, workspace_id: str, role: str | None) -> FieldPolicy:
        """The policy a key acting as `role` reads under; a key with no role (a scope set) is unrestricted."""
        if role is None:
            return UNRESTRICTED

        async def load() -> FieldPolicy:
            return await field_policy(session, workspace_id, role)

        return await self._cache.get((workspace_id, role), load)

    async def put(self, session: AsyncSession, workspace_id: str, role: str, fields: Mapping[str, str]) -> FieldPolicy:
        try:
            policy = FieldPolicy.parse(fields)
        except FieldPolicyError as exc:
            raise Unprocessable(str(exc), code="invalid_field_policy", details={"field": exc.field_name}) from exc
        await put_field_policy(session, workspace_id, role, policy)  # audited by the row hook
        await session.commit()
        self._cache.forget((workspace_id, role))
        return policy
