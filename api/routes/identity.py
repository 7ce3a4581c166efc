"""Identity: the workspace merge policy (service: api/identity/service.py)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ContactsRead, ContactsWrite, Session
from api.identity import service
from api.schemas.identity import MergePolicyBody
from domain.identity.policy import MergePolicy

router = APIRouter(prefix="/v1/identity", tags=["identity"])


@router.get("/merge-policy")
async def read_merge_policy(principal: ContactsRead, session: Session) -> MergePolicy:
    """The workspace merge policy (the default when none was set)."""
    return await service.read_policy(session, principal.workspace_id)


@router.put("/merge-policy")
async def put_merge_policy(body: MergePolicyBody, principal: ContactsWrite, session: Session) -> MergePolicy:
    """Replaces the workspace merge policy."""
    return await service.replace_policy(session, principal.workspace_id, body.model_dump(mode="json"))
