"""A journey's score adjustment (the adjust_score step): one ledger row per step run, and the score refreshed.

The row's rule is JOURNEY_RULE_ID and its event id a digest of the step's idempotency key: the ledger's unique
(rule_id, event_id) makes the adjustment happen once, however often the activity is retried. It decays with its
group's half-life like the group's other grants, and the batch recompute keeps it (store/scoring_recompute.py:
its rows are not rebuilt from events).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.scoring.decay import epoch_hour, micro
from store.models_scoring import ScoreGroupSetting
from store.queries import insert_if_absent
from store.scoring_apply import contact_ids, refresh_scores
from store.scoring_reads import contact_scores
from store.scoring_rules import load_scoring
from store.scoring_sql import LEDGER

JOURNEY_RULE_ID = "journey_step"


def adjustment_event_id(idempotency_key: str) -> str:
    return "jsa_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:48]


async def adjust_score(
    session: AsyncSession,
    workspace_id: str,
    contact_id: str,
    group: str,
    delta: float,
    idempotency_key: str,
    reason: str,
    now: datetime,
) -> tuple[bool, float]:
    """Add the ledger row unless this key's is there, refresh the contact's scores (crossings open alerts and
    queue score_crossed rows as for any grant); the caller commits. (applied now, the group's score)."""
    half_life = (
        await session.execute(
            select(ScoreGroupSetting.half_life_hours).where(  # type: ignore[call-overload]
                ScoreGroupSetting.workspace_id == workspace_id, ScoreGroupSetting.score_group == group
            )
        )
    ).scalar_one_or_none()
    applied = await insert_if_absent(
        session,
        LEDGER,
        {
            "workspace_id": workspace_id,
            "contact_id": contact_id,
            "score_group": group,
            "rule_id": JOURNEY_RULE_ID,
            "event_id": adjustment_event_id(idempotency_key),
            "points_micro": micro(delta),
            "granted_hour": epoch_hour(now),
            "half_life_hours": half_life,
            "cap_window": None,
            "reason": reason[:480],
            "created_at": now,
        },
        key=("rule_id", "event_id"),
    )
    if applied:
        scoring = await load_scoring(session, workspace_id)
        await refresh_scores(session, workspace_id, scoring, contact_ids([contact_id]), now)
    scores = await contact_scores(session, workspace_id, contact_id)
    return applied, scores.get(group, 0.0)
