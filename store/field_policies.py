"""Per-workspace role field policies: stored when a workspace set one, everything visible otherwise, and the one
cached reader every process uses (`FieldPolicies`: API replicas per request, dispatchers for webhook payloads)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.fields import UNRESTRICTED, FieldPolicy
from domain.clock import utcnow
from mauntic.ttl_cache import TtlCache
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


class FieldPolicies:
    """Role field policies as one process reads them: cached per (workspace, role) for `ttl` seconds. A policy is
    read on every request whose key acts as a role and for every webhook payload to an endpoint with one, so a
    change applies at once where it was made (`forget`) and within `ttl` seconds everywhere else."""

    def __init__(self, ttl: float = FIELD_POLICY_TTL) -> None:
        self._cache: TtlCache[tuple[str, str], FieldPolicy] = TtlCache(ttl)

    async def of(self, session: AsyncSession, workspace_id: str, role: str | None) -> FieldPolicy:
        """The policy `role` reads under; no role (a key with a scope set) is unrestricted."""
        if role is None:
            return UNRESTRICTED

        async def load() -> FieldPolicy:
            return await field_policy(session, workspace_id, role)

        return await self._cache.get((workspace_id, role), load)

    def forget(self, workspace_id: str, role: str) -> None:
        self._cache.forget((workspace_id, role))
