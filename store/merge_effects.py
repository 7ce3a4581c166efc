"""What follows a merge's or unmerge's row moves, in the same transaction (activities/identity/merge.py).

Scores: the ledger rows moved with the contact, but a score row whose twin the survivor had stayed behind, so the
contacts' attribute rules are re-evaluated (fields changed by survivorship; a moved `while it matches` grant is
dropped, the survivor holds its own once) and their contact_score rows brought to their ledgers by the scoring
code's own refresh (decay by the group's
half-life, the same aggregate as real time and the batch recompute; a crossing opens an alert and queues a
score_crossed row as any grant does). After a merge the survivor is refreshed, and the merged contact's leftover
score rows are dropped without crossings (its ledger moved whole, and it is no one any more); after an unmerge
both are refreshed.

Segments: a contact row named CONTACT_MERGED for each contact, so the segments consumer re-evaluates every segment
for them (fields changed by survivorship, events, scores and memberships moved); a merged contact is in no segment
(store/segment_sql.py), so its leftover memberships end there too. Its event ids name the merge: the activity
commits once, a retry answers from the merge row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from domain.events.interest import CONTACT_MERGED, OutboxKind
from store.outbox import OutboxEvent, enqueue
from store.scoring_apply import SCORES, Crossing, contact_ids, grant_attributes, refresh_scores
from store.scoring_rules import load_scoring

SCORES_TABLE = "contact_score"  # not moved back by an unmerge: recomputed from the ledgers instead


async def _announce(
    session: AsyncSession, workspace_id: str, merge_id: str, action: str, contacts: Sequence[str], now: datetime
) -> None:
    rows = [
        OutboxEvent(workspace_id, contact, f"{action}:{merge_id}:{i}", CONTACT_MERGED, {"merge_id": merge_id}, now,
                    OutboxKind.CONTACT)
        for i, contact in enumerate(contacts)
    ]  # fmt: skip
    await enqueue(session, rows, now)


async def _rescore(session: AsyncSession, workspace_id: str, contacts: Sequence[str], now: datetime) -> list[Crossing]:
    """Attribute rules re-evaluated (the fields changed; a moved `while it matches` grant is the merged contact's,
    not the survivor's), then the scores brought to the ledger: the batch recompute's last two steps."""
    scoring = await load_scoring(session, workspace_id)
    scope = contact_ids(contacts)
    await grant_attributes(session, workspace_id, scoring.attribute_rules, scope, now)
    return await refresh_scores(session, workspace_id, scoring, scope, now)


async def after_merge(
    session: AsyncSession, workspace_id: str, merge_id: str, survivor_id: str, merged_id: str, now: datetime
) -> list[Crossing]:
    s = SCORES.c
    await session.execute(delete(SCORES).where(s.workspace_id == workspace_id, s.contact_id == merged_id))
    crossings = await _rescore(session, workspace_id, [survivor_id], now)
    await _announce(session, workspace_id, merge_id, "merge", [survivor_id, merged_id], now)
    return crossings


async def after_unmerge(
    session: AsyncSession, workspace_id: str, merge_id: str, survivor_id: str, merged_id: str, now: datetime
) -> list[Crossing]:
    crossings = await _rescore(session, workspace_id, [survivor_id, merged_id], now)
    await _announce(session, workspace_id, merge_id, "unmerge", [survivor_id, merged_id], now)
    return crossings


__all__ = ["SCORES_TABLE", "after_merge", "after_unmerge"]
