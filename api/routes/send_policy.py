"""The workspace's default send policy: frequency caps per contact and channel across every journey, and quiet
hours in the contact's time zone (domain/journeys/send_policy.py). A journey's own `send_policy` overrides it; a
transactional step bypasses both. Workers read it at most POLICY_CACHE_SECONDS late."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import DeliveryRead, DeliveryWrite, Session
from domain.journeys.send_policy import WorkspaceSendPolicy
from store.send_policy import put_workspace_send_policy, workspace_send_policy

router = APIRouter(prefix="/v1", tags=["send policy"])


@router.get("/workspace/send-policy")
async def read_send_policy(principal: DeliveryRead, session: Session) -> WorkspaceSendPolicy:
    """The default: no caps and no quiet hours until one is set."""
    return await workspace_send_policy(session, principal.workspace_id) or WorkspaceSendPolicy()


@router.put("/workspace/send-policy")
async def replace_send_policy(
    body: WorkspaceSendPolicy, principal: DeliveryWrite, session: Session
) -> WorkspaceSendPolicy:
    """Replace the default whole (`{"caps": [], "quiet_hours": null}` clears it)."""
    await put_workspace_send_policy(session, principal.workspace_id, body)
    await session.commit()
    return body
