"""Identity: the workspace merge policy (read and replace). Merges themselves: api/identity/merges.py."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Unprocessable
from domain.identity.policy import MergePolicy
from store.identity_policy import merge_policy, put_merge_policy


async def read_policy(session: AsyncSession, workspace_id: str) -> MergePolicy:
    return await merge_policy(session, workspace_id)


async def replace_policy(session: AsyncSession, workspace_id: str, body: dict[str, Any]) -> MergePolicy:
    """Validates and stores the policy (audited by the row hook: `merge_policy.updated`)."""
    try:
        policy = MergePolicy.model_validate(body)
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors(include_url=False, include_input=False)]
        raise Unprocessable("invalid merge policy", code="invalid_merge_policy", details=errors) from exc
    await put_merge_policy(session, workspace_id, policy)
    await session.commit()
    return policy
