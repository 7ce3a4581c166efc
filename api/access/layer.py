"""The permission layer: what a key may do (its role's or its scope set's permissions), resolved without a query
in the steady state, and the check each route's dependency runs.

Built-in roles and scope sets are resolved in memory. A custom role's permissions are read once and cached per
(workspace, role) for `ROLE_TTL_SECONDS`; this process forgets an entry as soon as it changes the role, other API
processes see a change within the TTL.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Forbidden
from domain.access.permissions import ALL_PERMISSIONS, BUILTIN_ROLES, scope_permissions
from domain.clock import utcnow
from mauntic.ttl_cache import TtlCache
from store.access import find_role, mark_used
from store.models import ApiKey

ROLE_TTL_SECONDS = 5.0
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per key
PERMISSION_DENIED = "permission_denied"
INSUFFICIENT_SCOPE = "insufficient_scope"  # what a legacy scope-set key is answered, as before roles existed


class PermissionLayer:
    def __init__(self, ttl_seconds: float = ROLE_TTL_SECONDS) -> None:
        self._roles: TtlCache[tuple[str, str], frozenset[str]] = TtlCache(ttl_seconds)

    async def permissions(self, session: AsyncSession, key: ApiKey) -> frozenset[str]:
        if key.role is None:
            return scope_permissions(key.scopes)
        builtin = BUILTIN_ROLES.get(key.role)
        if builtin is not None:
            return builtin
        workspace_id, name = key.workspace_id, key.role

        async def load() -> frozenset[str]:
            role = await find_role(session, workspace_id, name)
            return frozenset(role.permissions) if role is not None else frozenset()

        return await self._roles.get((workspace_id, name), load)

    def forget(self, workspace_id: str, role: str) -> None:
        self._roles.forget((workspace_id, role))

    def enforce(self, held: frozenset[str], permission: str, *, legacy: bool) -> None:
        if permission not in held:
            raise Forbidden(
                f"the API key lacks the `{permission}` permission",
                code=INSUFFICIENT_SCOPE if legacy else PERMISSION_DENIED,
                details={"permission": permission},
            )

    async def note_use(self, session: AsyncSession, key: ApiKey) -> None:
        """Record the key's use, throttled: no write while the stored time is younger than LAST_USED_EVERY."""
        now = utcnow()
        if key.last_used_at is not None and now - key.last_used_at < LAST_USED_EVERY:
            return
        try:
            await mark_used(session, key.id, now, LAST_USED_EVERY)
        except SQLAlchemyError:  # a busy database must not fail the request: the next one records it
            await session.rollback()


class Unchecked(PermissionLayer):
    """The layer switched off (benchmarks only): every authenticated key may do everything."""

    async def permissions(self, session: AsyncSession, key: ApiKey) -> frozenset[str]:
        return ALL_PERMISSIONS

    def enforce(self, held: frozenset[str], permission: str, *, legacy: bool) -> None:
        return None
