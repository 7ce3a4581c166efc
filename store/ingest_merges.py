"""Writing the automatic merges the ingestion planner decided (domain/events/resolution.py), in the ingestion
transaction: a `running` ContactMerge row and a `contact_merge` dispatch outbox row per merge, so a kill after the
commit loses nothing (the dispatcher starts the workflow, dispatch/merges.py).

Idempotent: a pair merged before (running, completed, refused, or undone by hand) is never planned again, so a
retried message writes nothing twice and an unmerge is not undone by the next event; a contact already in an
unapplied merge (as either side) or merged meanwhile is left alone (one running merge per contact). The contacts
are locked first (`FOR UPDATE` on PostgreSQL, in id order), so two requests planning the same merge write one.
Costs nothing unless a merge was planned: then the policy (when not read already) and two small reads. Each merge
is audited like an explicit one (`contact.merge`, `after.automatic`), by the request's actor.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from domain.events.interest import OutboxKind
from domain.identity.runtime import merge_workflow_id
from domain.ids import new_id
from store.audit import queue_audit
from store.ingest_identity import merge_policy_sync
from store.merges import ACTIVE
from store.models import Contact
from store.models_identity import ContactMerge
from store.outbox import OutboxEvent


def write_merges(
    session: Session, workspace_id: str, merges: dict[str, str], now: datetime, *, auto_merge: bool | None
) -> list[OutboxEvent]:
    """`merges`: merged contact id -> survivor id. Returns the outbox rows to queue with the request's others."""
    if not merges:
        return []
    if auto_merge is None and not merge_policy_sync(session, workspace_id).auto_merge:
        return []
    involved = sorted({*merges, *merges.values()})
    locked = select(col(Contact.id), col(Contact.external_id), col(Contact.merged_into)).where(
        col(Contact.workspace_id) == workspace_id, col(Contact.id).in_(involved)
    )
    if session.get_bind().dialect.name == "postgresql":
        locked = locked.order_by(col(Contact.id)).with_for_update()
    contacts = {row.id: row for row in session.execute(locked)}
    earlier = session.execute(
        select(col(ContactMerge.survivor_id), col(ContactMerge.merged_id), col(ContactMerge.status)).where(
            col(ContactMerge.workspace_id) == workspace_id,
            or_(col(ContactMerge.merged_id).in_(involved), col(ContactMerge.survivor_id).in_(involved)),
        )
    ).all()
    pairs = {(row.survivor_id, row.merged_id) for row in earlier}
    busy = {cid for row in earlier if row.status in ACTIVE for cid in (row.survivor_id, row.merged_id)}
    queued: list[OutboxEvent] = []
    for merged_id, survivor_id in merges.items():
        merged, survivor = contacts.get(merged_id), contacts.get(survivor_id)
        if merged is None or survivor is None or merged.merged_into or survivor.merged_into:
            continue
        if merged.external_id is not None or (survivor_id, merged_id) in pairs or {merged_id, survivor_id} & busy:
            continue
        merge_id = new_id("mg")
        session.add(
            ContactMerge(
                id=merge_id,
                workspace_id=workspace_id,
                survivor_id=survivor_id,
                merged_id=merged_id,
                workflow_id=merge_workflow_id(workspace_id, merge_id),
                created_at=now,
            )
        )
        queue_audit(
            session, workspace_id=workspace_id, action="contact.merge", target_type="contact", target_id=merged_id,
            after={"merge_id": merge_id, "survivor_id": survivor_id, "merged_id": merged_id, "automatic": True},
        )  # fmt: skip
        busy |= {merged_id, survivor_id}
        queued.append(OutboxEvent(workspace_id, merged_id, merge_id, survivor_id, {}, now, OutboxKind.CONTACT_MERGE))
    return queued
