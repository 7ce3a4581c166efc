"""The merge activities, one transaction each and idempotent (the contacts' scores refreshed and their segments
asked to re-evaluate in the same transaction: store/merge_effects.py): a merge row already completed (or undone) is
answered from what it recorded, so a retried attempt changes nothing twice.

The contacts are read under `FOR UPDATE` (PostgreSQL) with the merge row, so two merges touching one contact
apply one after the other, and the second sees the first's `merged_into`. The journeys each running execution
of the merged contact goes to (hand over or exit) are decided here, from the enrollments the rows moved, and
recorded in the merge's snapshot: a retried attempt, or the workflow's next activity, reads the same decision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from temporalio import activity

from activities.identity.contracts import MERGE_ROWS, UNMERGE_ROWS, MergeInput, MergeResult
from domain.clock import utcnow
from domain.identity.merge import CONTACT_FIELDS, conflicting, survive
from store.identity_keys import stamp_keys
from store.identity_policy import merge_policy
from store.merge_effects import SCORES_TABLE, after_merge, after_unmerge
from store.merges import contact_identifiers, move_back, move_rows, readdress_enrollments
from store.models import Contact, JourneyEnrollment
from store.models_identity import ContactMerge

ENROLLMENTS = JourneyEnrollment.__tablename__


def snapshot(contact: Contact) -> dict[str, Any]:
    return {
        **{name: getattr(contact, name) for name in CONTACT_FIELDS},
        "attributes": dict(contact.attributes or {}),
        "updated_at": contact.updated_at.isoformat(),
    }


def _restore(contact: Contact, saved: dict[str, Any]) -> None:
    for name in CONTACT_FIELDS:
        setattr(contact, name, saved.get(name))
    contact.attributes = dict(saved.get("attributes") or {})


def _result(merge: ContactMerge) -> MergeResult:
    journeys = (merge.snapshot or {}).get("journeys") or {}
    return MergeResult(
        merge_id=merge.id, status=merge.status, workspace_id=merge.workspace_id, merged_id=merge.merged_id,
        survivor_id=merge.survivor_id, policy=journeys.get("policy", "exit"),
        hand_over=list(journeys.get("hand_over", [])) if merge.status == "completed" else [],
        exit_journeys=list(journeys.get("exit", [])) if merge.status == "completed" else [],
    )  # fmt: skip


async def _enrolled(session: AsyncSession, contact_id: str) -> dict[int, str]:
    rows = await session.execute(
        select(col(JourneyEnrollment.id), col(JourneyEnrollment.journey_id)).where(
            col(JourneyEnrollment.contact_id) == contact_id
        )
    )
    return {int(row_id or 0): journey_id for row_id, journey_id in rows.all()}


async def _without_handed_over(session: AsyncSession, merge: ContactMerge) -> dict[str, Any]:
    """The moved rows an unmerge returns: all but the enrollments of journeys handed over to the survivor."""
    handed = set(((merge.snapshot or {}).get("journeys") or {}).get("hand_over") or [])
    moved = dict(merge.moved or {})
    if not handed or not moved.get(ENROLLMENTS):
        return moved
    enrolled = await _enrolled(session, merge.survivor_id)
    moved[ENROLLMENTS] = [key for key in moved[ENROLLMENTS] if enrolled.get(int(key[0])) not in handed]
    return moved


async def _refuse(session: AsyncSession, merge: ContactMerge, error: str) -> MergeResult:
    merge.status, merge.error, merge.completed_at = "refused", error, utcnow()
    await session.commit()
    return _result(merge)


class IdentityActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], wake: Callable[[], None] | None = None) -> None:
        self._sessions = sessions
        self._wake = wake or (lambda: None)  # SQLite: the dispatcher hears of the queued rows at once

    def all(self) -> list[Any]:
        return [self.merge_rows, self.unmerge_rows]

    @activity.defn(name=MERGE_ROWS)
    async def merge_rows(self, request: MergeInput) -> MergeResult:
        async with self._sessions() as session:
            merge = await session.get(ContactMerge, request.merge_id, with_for_update=True)
            if merge is None:
                return MergeResult(merge_id=request.merge_id, status="missing")
            if merge.status != "running":
                return _result(merge)
            survivor = await session.get(Contact, merge.survivor_id, with_for_update=True)
            merged = await session.get(Contact, merge.merged_id, with_for_update=True)
            policy = await merge_policy(session, merge.workspace_id)
            if survivor is None or merged is None:
                return await _refuse(session, merge, "a contact no longer exists")
            if merged.merged_into or survivor.merged_into:
                return await _refuse(session, merge, "a contact was merged meanwhile")
            conflicts = conflicting(
                policy, await contact_identifiers(session, survivor), await contact_identifiers(session, merged)
            )
            if conflicts:
                return await _refuse(session, merge, f"different values for unique identifiers: {conflicts}")
            enrolled = await _enrolled(session, merged.id)
            before = {"survivor": snapshot(survivor), "merged": snapshot(merged)}
            fields = survive(policy, before["survivor"], before["merged"],
                             survivor_newer=survivor.updated_at >= merged.updated_at)  # fmt: skip
            # under `exit` the merged contact's enrollments stay with its stopped executions: the survivor may
            # still enter those journeys itself
            keep = (ENROLLMENTS,) if policy.journeys == "exit" else ()
            merge.moved, merge.skipped = await move_rows(session, merged.id, survivor.id, keep=keep)
            moved_enrollments = merge.moved.get(ENROLLMENTS, [])
            await readdress_enrollments(session, moved_enrollments, survivor.id)
            # its fields live on in the survivor (the snapshot keeps them for an unmerge); cleared here first, as
            # external_id is unique, and so that no segment or lookup finds the merged contact by them
            for name in CONTACT_FIELDS:
                setattr(merged, name, None)
            merged.attributes = {}
            merged.merged_into, merged.updated_at = survivor.id, utcnow()
            stamp_keys(merged, policy.unique)  # a merged contact holds no unique key
            await session.flush()
            _restore(survivor, fields)
            stamp_keys(survivor, policy.unique)
            survivor.updated_at = utcnow()
            # a moved enrollment's execution is handed over; one kept (policy `exit`, or the survivor's own
            # enrollment in that journey kept its twin on the merged contact) just exits
            handed = [enrolled[int(key[0])] for key in moved_enrollments if int(key[0]) in enrolled]
            kept = [enrolled[int(key[0])] for key in merge.skipped.get(ENROLLMENTS, []) if int(key[0]) in enrolled]
            journeys = {"policy": policy.journeys, "hand_over": handed, "exit": kept}
            merge.snapshot = {**before, "journeys": journeys}
            await session.flush()
            await after_merge(session, merge.workspace_id, merge.id, survivor.id, merged.id, utcnow())
            merge.status, merge.completed_at = "completed", utcnow()
            await session.commit()
            self._wake()
            return _result(merge)

    @activity.defn(name=UNMERGE_ROWS)
    async def unmerge_rows(self, request: MergeInput) -> MergeResult:
        """Moves back exactly the rows the merge moved and restores both contacts' fields as they were before it
        (what either contact changed since is not kept: the snapshot is the truth an unmerge returns to). Journey
        executions handed over to the survivor keep running there, and so their enrollments stay with it (the
        one exception to "exactly the moved rows": the enrollment follows its execution)."""
        async with self._sessions() as session:
            merge = await session.get(ContactMerge, request.merge_id, with_for_update=True)
            if merge is None:
                return MergeResult(merge_id=request.merge_id, status="missing")
            if merge.status == "undoing":
                survivor = await session.get(Contact, merge.survivor_id, with_for_update=True)
                merged = await session.get(Contact, merge.merged_id, with_for_update=True)
                back = await _without_handed_over(session, merge)
                back.pop(SCORES_TABLE, None)  # scores: recomputed from the ledgers below
                await move_back(session, back, merge.survivor_id, merge.merged_id)
                await readdress_enrollments(session, back.get(ENROLLMENTS, []), merge.merged_id)
                unique = (await merge_policy(session, merge.workspace_id)).unique
                if survivor is not None:  # first: it may hold the merged contact's unique external_id
                    _restore(survivor, merge.snapshot["survivor"])
                    stamp_keys(survivor, unique)
                    survivor.updated_at = utcnow()
                    await session.flush()
                if merged is not None:
                    _restore(merged, merge.snapshot["merged"])
                    merged.merged_into, merged.updated_at = None, utcnow()
                    stamp_keys(merged, unique)
                await session.flush()
                await after_unmerge(session, merge.workspace_id, merge.id, merge.survivor_id, merge.merged_id, utcnow())
                merge.status, merge.undone_at = "undone", utcnow()
                await session.commit()
                self._wake()
            return _result(merge)
