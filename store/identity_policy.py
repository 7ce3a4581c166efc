"""The workspace merge policy: stored when a workspace set one, the default otherwise."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import utcnow
from domain.identity.policy import DEFAULT_MERGE_POLICY, MergePolicy
from store.models_identity import MergePolicyRow


async def merge_policy(session: AsyncSession, workspace_id: str) -> MergePolicy:
    row = await session.get(MergePolicyRow, workspace_id)
    return DEFAULT_MERGE_POLICY if row is None else MergePolicy.model_validate(row.policy)


async def put_merge_policy(session: AsyncSession, workspace_id: str, policy: MergePolicy) -> None:
    row = await session.get(MergePolicyRow, workspace_id)
    if row is None:
        session.add(MergePolicyRow(workspace_id=workspace_id, policy=policy.model_dump(mode="json")))
    else:
        row.policy = policy.model_dump(mode="json")
        row.updated_at = utcnow()
