"""What journey steps that change a contact have done, once per idempotency key (migration 0015).

An update_contact step renders its templates from the contact as it finds it, so applying it again after a lost
answer could write something else (a counter bumped twice); the row is written in the transaction of the change,
and a retry finds it and answers with what was written the first time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from domain.clock import utcnow
from store.types import UTCDateTime


class JourneyStepEffect(SQLModel, table=True):
    __tablename__ = "journey_step_effect"
    idempotency_key: str = Field(primary_key=True, max_length=255)
    workspace_id: str = Field(max_length=40)
    contact_id: str = Field(max_length=40)
    kind: str = Field(max_length=32)  # the step type
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
