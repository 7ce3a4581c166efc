"""Identity: the workspace merge policy (read and replace). Merges themselves: api/identity/merges.py."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Unprocessable
from domain.identity.policy import MergePolicy
from store.audit import record_audit
from store.identity_policy import merge_policy, put_merge_policy


async def read_policy(session: AsyncSession, workspace_id: str) -> MergePolicy:
    return await merge_policy(session, workspace_id)


async def replace_policy(session: AsyncSession, workspace_id: str, body: dict[str, Any]) -> MergePolicy:
    """Validates and stores the policy (audit: `merge_policy.update`, before/after the policy)."""
    try:
        policy = MergePolicy.model_validate(body)
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors(include_url=False, include_input=False)]
        raise Unprocessable("invalid merge policy", code="invalid_merge_policy", details=errors) from exc
    before = await merge_policy(session, workspace_id)
    await put_merge_policy(session, workspace_id, policy)
    await record_audit(
        session, workspace_id=workspace_id, action="merge_policy.update", target_type="merge_policy",
        target_id=workspace_id, before=before.model_dump(mode="json"), after=policy.model_dump(mode="json"),
    )  # fmt: skip
    await session.commit()
    return policy
