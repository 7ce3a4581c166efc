"""Reading scores: a contact's score per group, its ledger (newest first), the leaderboard from the index."""

from __future__ import annotations

from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.scoring.rules import TOTAL
from store.models import ContactScore
from store.models_scoring import ScoreGroupSetting, ScoreLedger, ScoreRule, ScoreThreshold


async def contact_scores(session: AsyncSession, workspace_id: str, contact_id: str) -> dict[str, float]:
    rows = await session.execute(
        select(col(ContactScore.score_group), col(ContactScore.score)).where(
            col(ContactScore.workspace_id) == workspace_id, col(ContactScore.contact_id) == contact_id
        )
    )
    return {group: score for group, score in rows}


async def contact_ledger(
    session: AsyncSession, workspace_id: str, contact_id: str, before: int | None, limit: int
) -> list[ScoreLedger]:
    query = select(ScoreLedger).where(
        col(ScoreLedger.workspace_id) == workspace_id, col(ScoreLedger.contact_id) == contact_id
    )
    if before is not None:
        query = query.where(col(ScoreLedger.id) < before)
    return list((await session.execute(query.order_by(col(ScoreLedger.id).desc()).limit(limit))).scalars())


async def leaderboard(session: AsyncSession, workspace_id: str, group: str, limit: int) -> list[tuple[str, float]]:
    """Top `limit` by score: a backward range scan of ix_contact_score_leaderboard (workspace, group, score),
    stopping after `limit` rows, on both databases; never a sort of the group."""
    query = (
        select(col(ContactScore.contact_id), col(ContactScore.score))
        .where(col(ContactScore.workspace_id) == workspace_id, col(ContactScore.score_group) == group)
        .order_by(col(ContactScore.score).desc())
        .limit(limit)
    )
    return [(contact_id, score) for contact_id, score in await session.execute(query)]


async def score_group_exists(session: AsyncSession, workspace_id: str, group: str) -> bool:
    """A group the workspace scores: `total`, or one a rule, a group setting or a threshold names."""
    if group == TOTAL:
        return True
    for model in (ScoreRule, ScoreGroupSetting, ScoreThreshold):
        found = await session.execute(
            select(literal(1)).where(col(model.workspace_id) == workspace_id, col(model.score_group) == group).limit(1)
        )
        if found.first() is not None:
            return True
    return False
