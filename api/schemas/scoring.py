"""Response bodies of the scoring API (rules and thresholds are taken as domain.scoring.rules specs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from api.schemas.base import SafeInput
from domain.scoring.decay import as_points
from store.models_scoring import ScoreAlert, ScoreLedger, ScoreRule, ScoreThreshold


class RulePublic(BaseModel):
    id: str
    name: str
    group: str
    kind: str
    enabled: bool
    spec: dict[str, Any] = Field(description="The rule as it was given")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: ScoreRule) -> RulePublic:
        return cls(
            id=row.id,
            name=row.name,
            group=row.score_group,
            kind=row.kind,
            enabled=row.enabled,
            spec=row.spec,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class ThresholdPublic(BaseModel):
    id: str
    group: str
    value: float
    direction: str
    alert_ttl_hours: int
    created_at: datetime

    @classmethod
    def of(cls, row: ScoreThreshold) -> ThresholdPublic:
        return cls(
            id=row.id,
            group=row.score_group,
            value=row.value,
            direction=row.direction,
            alert_ttl_hours=row.alert_ttl_hours,
            created_at=row.created_at,
        )


class GroupSettings(SafeInput):
    half_life_hours: int | None = Field(default=None, ge=1, le=24 * 3660, description="null: no decay")


class ContactScorePublic(BaseModel):
    contact_id: str
    total: float
    groups: dict[str, float]


class LedgerEntryPublic(BaseModel):
    id: int
    group: str
    points: float = Field(description="Points granted, before decay")
    rule_id: str
    event_id: str = Field(description="The event that earned them (`contact:<id>` for an attribute rule)")
    reason: str
    half_life_hours: int | None
    granted_at: datetime

    @classmethod
    def of(cls, row: ScoreLedger) -> LedgerEntryPublic:
        assert row.id is not None
        return cls(
            id=row.id,
            group=row.score_group,
            points=as_points(row.points_micro),
            rule_id=row.rule_id,
            event_id=row.event_id,
            reason=row.reason,
            half_life_hours=row.half_life_hours,
            granted_at=datetime.fromtimestamp(row.granted_hour * 3600, tz=row.created_at.tzinfo),
        )


class LeaderboardEntry(BaseModel):
    contact_id: str
    score: float


class Leaderboard(BaseModel):
    group: str
    data: list[LeaderboardEntry]


class AlertPublic(BaseModel):
    id: int
    contact_id: str
    threshold_id: str
    group: str
    threshold: float
    direction: str
    score: float
    previous: float
    opened_at: datetime
    expires_at: datetime
    acknowledged_at: datetime | None
    closed_at: datetime | None
    state: str = Field(description="active or expired")

    @classmethod
    def of(cls, row: ScoreAlert, now: datetime) -> AlertPublic:
        assert row.id is not None
        expired = row.closed_at is not None or row.expires_at <= now
        return cls(
            id=row.id,
            contact_id=row.contact_id,
            threshold_id=row.threshold_id,
            group=row.score_group,
            threshold=row.threshold,
            direction=row.direction,
            score=row.score,
            previous=row.previous,
            opened_at=row.opened_at,
            expires_at=row.expires_at,
            acknowledged_at=row.acknowledged_at,
            closed_at=row.closed_at,
            state="expired" if expired else "active",
        )


class RecomputeRequest(SafeInput):
    chunk_size: int = Field(default=5000, ge=1, le=100_000)


class RecomputeStarted(BaseModel):
    workflow_id: str
    run_id: str | None
