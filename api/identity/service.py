"""Identity: the workspace merge policy (read and replace). Merges themselves: api/identity/merges.py."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from api.errors import Conflict, Unprocessable
from domain.identity.identifiers import KEYED
from domain.identity.policy import MergePolicy
from store import identity_keys
from store.identity_policy import merge_policy, put_merge_policy

EXAMPLES = 10


async def read_policy(session: AsyncSession, workspace_id: str) -> MergePolicy:
    return await merge_policy(session, workspace_id)


async def replace_policy(session: AsyncSession, workspace_id: str, body: dict[str, Any]) -> MergePolicy:
    """Validates and stores the policy (audited by the row hook: `merge_policy.updated`)."""
    try:
        policy = MergePolicy.model_validate(body)
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors(include_url=False, include_input=False)]
        raise Unprocessable("invalid merge policy", code="invalid_merge_policy", details=errors) from exc
    before = await merge_policy(session, workspace_id)
    await _rekey(session, workspace_id, before, policy)
    await put_merge_policy(session, workspace_id, policy)
    await session.commit()
    return policy


async def duplicates(
    session: AsyncSession, workspace_id: str, identifier: str, limit: int
) -> list[identity_keys.DuplicateGroup]:
    return await session.run_sync(lambda s: identity_keys.duplicates(s, workspace_id, identifier, limit))


async def _rekey(session: AsyncSession, workspace_id: str, before: MergePolicy, after: MergePolicy) -> None:
    """Keys follow the policy: an identifier made unique gets them (409 `identifier_not_unique`, nothing changed,
    while contacts share a value: merge them first, see GET /v1/identity/duplicates); one no longer unique loses
    them."""
    added = [i for i in KEYED if i in after.unique and i not in before.unique]
    removed = [i for i in KEYED if i not in after.unique and i in before.unique]
    for identifier in added:
        shared = await duplicates(session, workspace_id, identifier, EXAMPLES)
        if shared:
            raise _not_unique(identifier, shared)

    def rekey(sync: Session) -> None:
        for identifier in added:
            identity_keys.backfill(sync, workspace_id, identifier)
        for identifier in removed:
            identity_keys.clear(sync, workspace_id, identifier)

    try:
        await session.run_sync(rekey)
    except IntegrityError as exc:  # a concurrent writer created a duplicate meanwhile
        await session.rollback()
        raise Conflict(f"contacts share a value of {', '.join(added)}; retry", code="identifier_not_unique") from exc


def _not_unique(identifier: str, shared: list[identity_keys.DuplicateGroup]) -> Conflict:
    return Conflict(
        f"{identifier} cannot be unique: contacts share a value (merge them first; GET /v1/identity/duplicates)",
        code="identifier_not_unique",
        details={
            "identifier": identifier,
            "examples": [{"value": g.key, "contact_ids": g.contact_ids[:EXAMPLES]} for g in shared],
        },
    )
