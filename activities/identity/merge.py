"""The merge activities, one transaction each and idempotent: a merge row already completed (or undone) is
answered from what it recorded, so a retried attempt changes nothing twice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError

from activities.identity.contracts import (
    EXIT_JOURNEYS,
    MERGE_ROWS,
    MERGED_REASON,
    UNMERGE_ROWS,
    MergeInput,
    MergeResult,
)
from domain.clock import utcnow
from domain.identity.merge import COLUMN_IDENTIFIERS, CONTACT_FIELDS, conflicting, survive
from domain.journeys.runtime import CONTROL_SIGNAL, JourneyControl, journey_workflow_id
from store.identity_keys import stamp_keys
from store.identity_policy import merge_policy
from store.merges import identifier_values, move_back, move_rows
from store.models import Contact, JourneyEnrollment
from store.models_identity import ContactMerge


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


async def identifiers(session: AsyncSession, contact: Contact) -> dict[str, set[str]]:
    values = await identifier_values(session, contact.workspace_id, contact.id)
    values.pop("user", None)  # the user id is the external_id column
    for name in COLUMN_IDENTIFIERS:
        if value := getattr(contact, name):
            values[name] = {value}
    return values


class IdentityActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], client: Client) -> None:
        self._sessions = sessions
        self._client = client

    def all(self) -> list[Any]:
        return [self.merge_rows, self.unmerge_rows, self.exit_journeys]

    @activity.defn(name=MERGE_ROWS)
    async def merge_rows(self, request: MergeInput) -> MergeResult:
        async with self._sessions() as session:
            merge = await session.get(ContactMerge, request.merge_id, with_for_update=True)
            if merge is None:
                return MergeResult(merge_id=request.merge_id, status="missing")
            done = MergeResult(merge_id=merge.id, status=merge.status, workspace_id=merge.workspace_id,
                               merged_id=merge.merged_id)  # fmt: skip
            if merge.status != "running":
                return done
            survivor = await session.get(Contact, merge.survivor_id)
            merged = await session.get(Contact, merge.merged_id)
            policy = await merge_policy(session, merge.workspace_id)
            if survivor is None or merged is None or merged.merged_into or survivor.merged_into:
                merge.status, merge.error = "refused", "a contact is missing or already merged"
                await session.commit()
                return done.model_copy(update={"status": merge.status})
            conflicts = conflicting(policy, await identifiers(session, survivor), await identifiers(session, merged))
            if conflicts:
                merge.status, merge.error = "refused", f"different values for unique identifiers: {conflicts}"
                await session.commit()
                return done.model_copy(update={"status": merge.status})
            journeys = (
                (
                    await session.execute(
                        select(col(JourneyEnrollment.journey_id)).where(col(JourneyEnrollment.contact_id) == merged.id)
                    )
                )
                .scalars()
                .all()
            )
            before = {"survivor": snapshot(survivor), "merged": snapshot(merged)}
            fields = survive(policy, before["survivor"], before["merged"],
                             survivor_newer=survivor.updated_at >= merged.updated_at)  # fmt: skip
            merge.moved, merge.skipped = await move_rows(session, merged.id, survivor.id)
            for name in COLUMN_IDENTIFIERS:  # unique columns: free them on the merged contact first
                setattr(merged, name, None)
            merged.merged_into, merged.updated_at = survivor.id, utcnow()
            stamp_keys(merged, policy.unique)  # a merged contact holds no unique key
            await session.flush()
            _restore(survivor, fields)
            stamp_keys(survivor, policy.unique)
            survivor.updated_at = utcnow()
            merge.snapshot, merge.status, merge.completed_at = before, "completed", utcnow()
            await session.commit()
            exits = list(journeys) if policy.journeys == "exit" else []
            return done.model_copy(update={"status": "completed", "exit_journeys": exits})

    @activity.defn(name=UNMERGE_ROWS)
    async def unmerge_rows(self, request: MergeInput) -> MergeResult:
        async with self._sessions() as session:
            merge = await session.get(ContactMerge, request.merge_id, with_for_update=True)
            if merge is None:
                return MergeResult(merge_id=request.merge_id, status="missing")
            if merge.status == "undoing":
                survivor = await session.get(Contact, merge.survivor_id)
                merged = await session.get(Contact, merge.merged_id)
                await move_back(session, merge.moved, merge.survivor_id, merge.merged_id)
                unique = (await merge_policy(session, merge.workspace_id)).unique
                if survivor is not None:
                    _restore(survivor, merge.snapshot["survivor"])
                    stamp_keys(survivor, unique)
                    survivor.updated_at = utcnow()
                    await session.flush()
                if merged is not None:
                    _restore(merged, merge.snapshot["merged"])
                    merged.merged_into, merged.updated_at = None, utcnow()
                    stamp_keys(merged, unique)
                merge.status, merge.undone_at = "undone", utcnow()
                await session.commit()
            return MergeResult(merge_id=merge.id, status=merge.status, workspace_id=merge.workspace_id,
                               merged_id=merge.merged_id)  # fmt: skip

    @activity.defn(name=EXIT_JOURNEYS)
    async def exit_journeys(self, result: MergeResult) -> int:
        """Stops the merged contact's running executions of the given journeys (reason `merged`); one already
        finished or never started is skipped, so a retry stops nothing twice."""
        stopped = 0
        for journey_id in result.exit_journeys:
            handle = self._client.get_workflow_handle(journey_workflow_id(result.workspace_id, journey_id,
                                                                          result.merged_id))  # fmt: skip
            try:
                await handle.signal(CONTROL_SIGNAL, JourneyControl(action="stop", reason=MERGED_REASON))
                stopped += 1
            except RPCError:
                continue  # not running
        return stopped
