"""Lead-scoring tables (migration 0011): rules, group settings, the ledger, thresholds and their alerts.

`contact_score` (migration 0008, store/models.py) holds the current score per group; the ledger explains it:
each grant is a row naming its rule, its event (or `contact:<id>` for an attribute rule) and a reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

# the event table (store/models.py, which imports this module at its end) must be defined first: it gets an index
import store.models  # noqa: F401
from domain.clock import utcnow
from store.types import UTCDateTime


def _ts(nullable: bool = False) -> Any:
    return Field(default_factory=None if nullable else utcnow, sa_column=Column(UTCDateTime(), nullable=nullable))


# the event index scoring reads (migration 0009, segments'): an event rule's grants read its events only, by
# (workspace, name, contact) ranges
_EVENT = SQLModel.metadata.tables["event"]
EVENT_NAME_INDEX = Index(
    "ix_event_segment", _EVENT.c.workspace_id, _EVENT.c.name, _EVENT.c.contact_id, _EVENT.c.timestamp
)


class ScoreRule(SQLModel, table=True):
    __tablename__ = "score_rule"
    __table_args__ = (Index("ix_score_rule_workspace", "workspace_id", "id"),)
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(max_length=40)
    name: str = Field(max_length=200)
    score_group: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # event | attribute
    event_name: str | None = Field(default=None, max_length=255)
    spec: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    enabled: bool = True
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class ScoreGroupSetting(SQLModel, table=True):
    """A group's half-life, used by its rules that set none."""

    __tablename__ = "score_group_setting"
    workspace_id: str = Field(primary_key=True, max_length=40)
    score_group: str = Field(primary_key=True, max_length=64)
    half_life_hours: int | None = None
    updated_at: datetime = _ts()


class ScoreLedger(SQLModel, table=True):
    __tablename__ = "score_ledger"
    __table_args__ = (
        UniqueConstraint("rule_id", "event_id", name="uq_score_ledger_rule_event"),
        Index("ix_score_ledger_contact", "workspace_id", "contact_id", "id"),
        Index("ix_score_ledger_window", "rule_id", "contact_id", "cap_window"),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(max_length=40)
    contact_id: str = Field(max_length=40)
    score_group: str = Field(max_length=64)
    rule_id: str = Field(max_length=40)
    event_id: str = Field(max_length=80)
    points_micro: int = Field(sa_column=Column(BigInteger(), nullable=False))
    granted_hour: int  # epoch hour of the event: decay runs from here
    half_life_hours: int | None = None
    cap_window: int | None = None
    reason: str = Field(max_length=500)
    created_at: datetime = _ts()


class ScoreThreshold(SQLModel, table=True):
    __tablename__ = "score_threshold"
    __table_args__ = (Index("ix_score_threshold_workspace", "workspace_id", "score_group"),)
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(max_length=40)
    score_group: str = Field(max_length=64)
    value: float
    direction: str = Field(max_length=8)
    alert_ttl_hours: int
    created_at: datetime = _ts()


class ScoreAlert(SQLModel, table=True):
    __tablename__ = "score_alert"
    __table_args__ = (
        Index("ix_score_alert_workspace", "workspace_id", "id"),
        Index("ix_score_alert_open", "closed_at", "expires_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(max_length=40)
    contact_id: str = Field(max_length=40)
    threshold_id: str = Field(max_length=40)
    score_group: str = Field(max_length=64)
    threshold: float
    direction: str = Field(max_length=8)
    score: float
    previous: float
    opened_at: datetime = _ts()
    expires_at: datetime = _ts()
    acknowledged_at: datetime | None = _ts(nullable=True)
    closed_at: datetime | None = _ts(nullable=True)
