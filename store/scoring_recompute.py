"""One chunk of the batch score recompute: a range of contacts, rebuilt from the event log under current rules.

The chunk's event-rule ledger rows are deleted and granted again (the same INSERT ... SELECT as real time, scoped
to the contact range), attribute rules re-evaluated (their rows kept while they hold, so their decay runs from
when they were first granted), and the contacts' scores brought to the ledger. One transaction per chunk: a
worker killed mid-chunk leaves the chunk as it was, and the retried activity does it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.scoring_adjust import JOURNEY_RULE_ID
from store.scoring_apply import CONTACTS, contact_range, grant_attributes, grant_events, refresh_scores
from store.scoring_rules import Scoring
from store.scoring_sql import EVENT, LEDGER


@dataclass(frozen=True, slots=True)
class ChunkResult:
    last_contact_id: str | None  # None: no contact after the cursor, the recompute is done
    contacts: int
    crossings: int


async def recompute_chunk(
    session: AsyncSession, workspace_id: str, scoring: Scoring, after: str | None, size: int, now: datetime
) -> ChunkResult:
    c = CONTACTS.c
    query = select(c.id).where(c.workspace_id == workspace_id)
    if after is not None:
        query = query.where(c.id > after)
    ids = list((await session.execute(query.order_by(c.id).limit(size))).scalars())
    if not ids:
        return ChunkResult(None, 0, 0)
    scope = contact_range(after, ids[-1])
    # journey adjustments (store/scoring_adjust.py) are no event's grant: nothing could rebuild them
    kept = [rule.id for rule in scoring.attribute_rules] + [JOURNEY_RULE_ID]
    stale = delete(LEDGER).where(LEDGER.c.workspace_id == workspace_id, scope(LEDGER.c.contact_id))
    stale = stale.where(LEDGER.c.rule_id.not_in(kept))
    await session.execute(stale)
    await grant_events(session, workspace_id, scoring.event_rules, scope(EVENT.c.contact_id), now, empty_ledger=True)
    await grant_attributes(session, workspace_id, scoring.attribute_rules, scope, now)
    crossings = await refresh_scores(session, workspace_id, scoring, scope, now)
    await session.commit()
    return ChunkResult(ids[-1], len(ids), len(crossings))
