"""Merges and unmerges: checked here, applied by the ContactMerge workflow (workflows/contact_merge.py).

Crash safety, without the outbox: the merge row (status `running`, its deterministic workflow id
`contact-merge:{ws}:{merge}`) commits first, then the workflow is started under that id. An API killed between the
commit and the start leaves a `running` row with no workflow; the next `POST /v1/contacts/merge` of the same pair
or `GET /v1/merges/{id}` starts it (a start repeated while it runs is refused by Temporal and ignored), and the
activities act on the row's status, so a merge is applied once however often it is started. The same holds for an
unmerge (`undoing`, `contact-unmerge:{ws}:{merge}`). Automatic merges planned by ingestion start through the
dispatch outbox instead (a `contact_merge` row, dispatch/merges.py), with the same `mauntic.merge_starts`.

The checks made here (unknown contacts, already merged, conflicting unique identifiers) are made again by the
activity under row locks, which refuses the merge (`refused`, with `error`) if something changed meanwhile.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from activities.identity.contracts import merge_workflow_id
from api.errors import Conflict, NotFound, Unprocessable
from domain.clock import utcnow
from domain.identity.merge import conflicting
from domain.ids import new_id
from mauntic.merge_starts import ensure_started
from mauntic.temporal import TemporalGateway
from store.audit import record_audit
from store.contacts import get_contact
from store.identity_policy import merge_policy
from store.merges import active_merge, contact_identifiers, merges_of_contact
from store.models import Contact
from store.models_identity import ContactMerge


async def _contact(session: AsyncSession, workspace_id: str, contact_id: str) -> Contact:
    contact = await get_contact(session, workspace_id, contact_id)
    if contact is None:
        raise NotFound(f"no contact {contact_id}", code="contact_not_found", details={"contact_id": contact_id})
    return contact


def refuse_merged(contact: Contact) -> None:
    """A merged contact is read through its survivor and never written or merged again: 409 `contact_merged`."""
    if contact.merged_into:
        raise Conflict(
            f"contact {contact.id} was merged into {contact.merged_into}",
            code="contact_merged",
            details={"contact_id": contact.id, "merged_into": contact.merged_into},
        )


class MergeService:
    async def merge(
        self, session: AsyncSession, temporal: TemporalGateway, workspace_id: str, survivor_id: str, merged_id: str
    ) -> ContactMerge:
        if survivor_id == merged_id:
            raise Unprocessable("a contact cannot be merged into itself", code="merge_same_contact")
        survivor = await _contact(session, workspace_id, survivor_id)
        merged = await _contact(session, workspace_id, merged_id)
        refuse_merged(survivor)
        refuse_merged(merged)
        pending = await active_merge(session, workspace_id, survivor_id, merged_id)
        if pending is not None:
            if (pending.survivor_id, pending.merged_id, pending.status) == (survivor_id, merged_id, "running"):
                await ensure_started(temporal, pending)  # the same merge asked again: the same answer
                return pending
            raise Conflict(
                f"merge {pending.id} of one of these contacts is not applied yet",
                code="merge_in_progress",
                details={"merge_id": pending.id},
            )
        policy = await merge_policy(session, workspace_id)
        conflicts = conflicting(
            policy, await contact_identifiers(session, survivor), await contact_identifiers(session, merged)
        )
        if conflicts:
            raise Conflict(
                f"the contacts have different values for unique identifiers: {', '.join(conflicts)}",
                code="merge_conflict",
                details={"identifiers": conflicts},
            )
        merge_id = new_id("mg")
        row = ContactMerge(
            id=merge_id, workspace_id=workspace_id, survivor_id=survivor_id, merged_id=merged_id,
            workflow_id=merge_workflow_id(workspace_id, merge_id), created_at=utcnow(),
        )  # fmt: skip
        session.add(row)
        await record_audit(
            session, workspace_id=workspace_id, action="contact.merge", target_type="contact", target_id=merged_id,
            after={"merge_id": merge_id, "survivor_id": survivor_id, "merged_id": merged_id},
        )  # fmt: skip
        await session.commit()
        await ensure_started(temporal, row)
        return row

    async def get(
        self, session: AsyncSession, temporal: TemporalGateway, workspace_id: str, merge_id: str
    ) -> ContactMerge:
        merge = await session.get(ContactMerge, merge_id)
        if merge is None or merge.workspace_id != workspace_id:
            raise NotFound(f"no merge {merge_id}", code="merge_not_found")
        await ensure_started(temporal, merge)  # a start lost to a crash after the commit (see above)
        return merge

    async def history(
        self, session: AsyncSession, workspace_id: str, contact_id: str, *, after: str | None, limit: int
    ) -> list[ContactMerge]:
        await _contact(session, workspace_id, contact_id)
        return await merges_of_contact(session, workspace_id, contact_id, after=after, limit=limit)

    async def unmerge(
        self, session: AsyncSession, temporal: TemporalGateway, workspace_id: str, merge_id: str
    ) -> ContactMerge:
        merge = await self.get(session, temporal, workspace_id, merge_id)
        if merge.status == "undoing":
            return merge
        if merge.status != "completed":
            raise Conflict(
                f"merge {merge.id} is {merge.status}: only a completed merge can be undone",
                code="merge_not_completed",
                details={"status": merge.status},
            )
        survivor = await get_contact(session, workspace_id, merge.survivor_id)
        if survivor is not None:
            refuse_merged(survivor)  # merged on since: undo that merge first
        pending = await active_merge(session, workspace_id, merge.survivor_id, merge.merged_id)
        if pending is not None:
            raise Conflict(
                f"merge {pending.id} of one of these contacts is not applied yet",
                code="merge_in_progress",
                details={"merge_id": pending.id},
            )
        merge.status = "undoing"
        session.add(merge)
        await record_audit(
            session, workspace_id=workspace_id, action="contact.unmerge", target_type="contact",
            target_id=merge.merged_id, before={"merge_id": merge.id, "survivor_id": merge.survivor_id},
        )  # fmt: skip
        await session.commit()
        await ensure_started(temporal, merge)
        return merge
