"""Scoring rules, group settings and thresholds: their rows, and the compiled view scoring runs on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.events.interest import Interest
from domain.ids import new_id
from domain.scoring.decay import micro
from domain.scoring.rules import Direction, RuleSpec, ThresholdSpec
from store.models_scoring import ScoreGroupSetting, ScoreRule, ScoreThreshold


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    name: str
    group: str
    spec: RuleSpec
    points_micro: int
    cap_micro: int | None
    half_life_hours: int | None  # the rule's, else its group's


@dataclass(frozen=True, slots=True)
class Threshold:
    id: str
    group: str
    value: float
    direction: Direction
    alert_ttl_hours: int


@dataclass(frozen=True, slots=True)
class Scoring:
    """What scoring needs of a workspace: its enabled rules and its thresholds."""

    rules: tuple[CompiledRule, ...]
    thresholds: tuple[Threshold, ...]

    @property
    def event_rules(self) -> tuple[CompiledRule, ...]:
        return tuple(r for r in self.rules if r.spec.event is not None)

    @property
    def attribute_rules(self) -> tuple[CompiledRule, ...]:
        return tuple(r for r in self.rules if r.spec.attributes is not None)


async def create_rule(session: AsyncSession, workspace_id: str, spec: RuleSpec, now: datetime) -> ScoreRule:
    row = ScoreRule(
        id=new_id("srl"), workspace_id=workspace_id, name="", score_group="", kind="", created_at=now, updated_at=now
    )
    _fill(row, spec, now)
    session.add(row)
    await session.flush()
    return row


def _fill(row: ScoreRule, spec: RuleSpec, now: datetime) -> None:
    row.name = spec.name
    row.score_group = spec.group
    row.kind = spec.kind
    row.event_name = spec.event
    row.spec = spec.model_dump(mode="json")
    row.enabled = spec.enabled
    row.updated_at = now


async def update_rule(session: AsyncSession, row: ScoreRule, spec: RuleSpec, now: datetime) -> ScoreRule:
    _fill(row, spec, now)
    await session.flush()
    return row


async def get_rule(session: AsyncSession, workspace_id: str, rule_id: str) -> ScoreRule | None:
    row = await session.get(ScoreRule, rule_id)
    return row if row is not None and row.workspace_id == workspace_id else None


async def list_rules(session: AsyncSession, workspace_id: str, after: str | None, limit: int) -> list[ScoreRule]:
    query = select(ScoreRule).where(col(ScoreRule.workspace_id) == workspace_id)
    if after is not None:
        query = query.where(col(ScoreRule.id) > after)
    return list((await session.execute(query.order_by(col(ScoreRule.id)).limit(limit))).scalars())


async def delete_rule(session: AsyncSession, row: ScoreRule) -> None:
    await session.delete(row)
    await session.flush()


async def set_group_half_life(
    session: AsyncSession, workspace_id: str, group: str, half_life_hours: int | None, now: datetime
) -> None:
    row = await session.get(ScoreGroupSetting, (workspace_id, group))
    if row is None:
        session.add(ScoreGroupSetting(workspace_id=workspace_id, score_group=group, updated_at=now))
        await session.flush()
        row = await session.get(ScoreGroupSetting, (workspace_id, group))
    assert row is not None
    row.half_life_hours = half_life_hours
    row.updated_at = now
    await session.flush()


async def create_threshold(
    session: AsyncSession, workspace_id: str, spec: ThresholdSpec, now: datetime
) -> ScoreThreshold:
    row = ScoreThreshold(
        id=new_id("sth"),
        workspace_id=workspace_id,
        score_group=spec.group,
        value=spec.value,
        direction=spec.direction.value,
        alert_ttl_hours=spec.alert_ttl_hours,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def list_thresholds(session: AsyncSession, workspace_id: str) -> list[ScoreThreshold]:
    query = (
        select(ScoreThreshold).where(col(ScoreThreshold.workspace_id) == workspace_id).order_by(col(ScoreThreshold.id))
    )
    return list((await session.execute(query)).scalars())


async def delete_threshold(session: AsyncSession, workspace_id: str, threshold_id: str) -> bool:
    result = await session.execute(
        delete(ScoreThreshold).where(
            col(ScoreThreshold.workspace_id) == workspace_id, col(ScoreThreshold.id) == threshold_id
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def load_scoring(session: AsyncSession, workspace_id: str) -> Scoring:
    settings = await session.execute(
        select(col(ScoreGroupSetting.score_group), col(ScoreGroupSetting.half_life_hours)).where(
            col(ScoreGroupSetting.workspace_id) == workspace_id
        )
    )
    halves: dict[str, int | None] = {group: half for group, half in settings}
    rows = (
        await session.execute(
            select(ScoreRule).where(col(ScoreRule.workspace_id) == workspace_id, col(ScoreRule.enabled).is_(True))
        )
    ).scalars()
    rules = []
    for row in rows:
        spec = RuleSpec.model_validate(row.spec)
        rules.append(
            CompiledRule(
                row.id,
                row.name,
                row.score_group,
                spec,
                micro(spec.points),
                micro(spec.cap.points) if spec.cap else None,
                spec.half_life_hours or halves.get(row.score_group),
            )
        )
    thresholds = tuple(
        Threshold(t.id, t.score_group, t.value, Direction(t.direction), t.alert_ttl_hours)
        for t in await list_thresholds(session, workspace_id)
    )
    return Scoring(tuple(sorted(rules, key=lambda r: r.id)), thresholds)


async def scoring_interest(session: AsyncSession, workspace_id: str) -> Interest:
    """The events a workspace's enabled rules name; contact changes when attribute rules exist."""
    rows = await session.execute(
        select(col(ScoreRule.kind), col(ScoreRule.event_name)).where(
            col(ScoreRule.workspace_id) == workspace_id,
            col(ScoreRule.enabled).is_(True),
        )
    )
    names: set[str] = set()
    contacts = False
    for kind, name in rows:
        if kind == "attribute":
            contacts = True
        elif name:
            names.add(name)
    return Interest(frozenset(names), contacts)
