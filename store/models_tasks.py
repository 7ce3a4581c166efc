"""Human tasks (migration 0014): what journey task steps (human_task, linkedin_task) ask a person to do.

A row is written by the journey's task step (a local activity, idempotent on the step's idempotency key) with its
title, instructions and message already rendered for the contact, and completed through the API, which signals the
journey. Every decision the step takes (created, escalated, completed, expired) is also in the journey's history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from domain.clock import utcnow
from store.types import UTCDateTime


def _ts(nullable: bool = False) -> Any:
    return Field(default_factory=None if nullable else utcnow, sa_column=Column(UTCDateTime(), nullable=nullable))


class JourneyTask(SQLModel, table=True):
    __tablename__ = "journey_task"
    __table_args__ = (
        Index("ix_journey_task_workspace", "workspace_id", "id"),
        Index("ix_journey_task_assignee", "workspace_id", "assignee", "status", "id"),
        Index("ix_journey_task_idempotency", "idempotency_key", unique=True),
    )
    id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(max_length=40)
    journey_id: str = Field(max_length=40)
    version: int
    contact_id: str = Field(max_length=40)
    step_id: str = Field(max_length=64)
    workflow_id: str = Field(max_length=300)
    idempotency_key: str = Field(max_length=400)
    kind: str = Field(max_length=16)  # generic | call | linkedin
    status: str = Field(default="open", max_length=16)  # domain.tasks.TaskStatus
    title: str = Field(sa_column=Column(Text, nullable=False))
    instructions: str = Field(default="", sa_column=Column(Text, nullable=False))
    profile_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    assignee: str = Field(max_length=320)
    outcomes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    outcome: str | None = Field(default=None, max_length=40)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    completed_by: str | None = Field(default=None, max_length=320)
    closed_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # expired, cancelled
    due_at: datetime | None = _ts(nullable=True)
    sla_at: datetime | None = _ts(nullable=True)
    escalated_at: datetime | None = _ts(nullable=True)
    escalation: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    completed_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
