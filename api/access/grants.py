"""What a role name means in a workspace, and the rule every grant follows: never more than the grantor holds."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Forbidden, Unprocessable
from domain.access.permissions import BUILTIN_ROLES, escalation
from store.access import find_role

PERMISSION_ESCALATION = "permission_escalation"
UNKNOWN_ROLE = "unknown_role"


async def role_permissions(session: AsyncSession, workspace_id: str, role: str) -> frozenset[str]:
    """The permissions of a built-in or custom role; 422 `unknown_role` when the workspace has no such role."""
    builtin = BUILTIN_ROLES.get(role)
    if builtin is not None:
        return builtin
    custom = await find_role(session, workspace_id, role)
    if custom is None:
        raise Unprocessable(f"no role {role!r} in this workspace", code=UNKNOWN_ROLE)
    return frozenset(custom.permissions)


def require_within(granted: Iterable[str], held: frozenset[str], what: str) -> None:
    """403 `permission_escalation` naming the first permission of `granted` the caller lacks."""
    missing = escalation(granted, held)
    if missing is not None:
        raise Forbidden(
            f"{what} needs `{missing}`, which the calling key lacks",
            code=PERMISSION_ESCALATION,
            details={"permission": missing},
        )
