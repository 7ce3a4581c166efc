"""Identity: the workspace merge policy (service: api/identity/service.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import ContactsRead, ContactsWrite, Session
from api.identity import service
from api.schemas.identity import DuplicateGroupPublic, Duplicates, MergePolicyBody
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


@router.get("/duplicates")
async def list_duplicates(
    principal: ContactsRead,
    session: Session,
    identifier: Literal["email", "phone"] = "email",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Duplicates:
    """Groups of contacts (not merged) sharing one email or phone: duplicates that existed before the value was
    made unique, to merge. Empty when there are none, which is what a policy making it unique needs."""
    groups = await service.duplicates(session, principal.workspace_id, identifier, limit)
    return Duplicates(
        data=[DuplicateGroupPublic(identifier=g.identifier, value=g.key, contact_ids=g.contact_ids) for g in groups]
    )
