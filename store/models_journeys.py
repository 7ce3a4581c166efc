"""Journey tables kept beside store/models.py: the intent trigger's running counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel


class JourneyIntent(SQLModel, table=True):
    """Per (journey, contact): the recent events an intent trigger counted (`hits`: [event id, ISO time] pairs
    inside the window, oldest first) and the last event ids it saw (`seen`: a re-dispatched row counts once)."""

    __tablename__ = "journey_intent"
    journey_id: str = Field(primary_key=True, max_length=40)
    contact_id: str = Field(primary_key=True, max_length=40)
    workspace_id: str = Field(max_length=40)
    hits: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    seen: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
