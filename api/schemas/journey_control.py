"""Request and response bodies of a journey's set-based control: operations (pause, resume, stop, migrate) and
the migration's dry run."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from api.journeys.control import Operation
from api.schemas.base import SafeInput
from domain.journeys.definition import MAX_STEPS

NodeId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class OperationProgress(BaseModel):
    total: int = Field(description="Running contacts the operation selected.")
    done: int = Field(description="Contacts signalled so far.")
    failed: int = Field(0, description="Contacts the signal could not reach (ended meanwhile, most often).")


class JourneyOperationPublic(BaseModel):
    id: str
    journey_id: str
    action: str = Field(description="pause, resume, stop or migrate.")
    state: Literal["running", "completed", "failed"]
    progress: OperationProgress
    started_at: datetime | None = None
    finished_at: datetime | None = None
    temporal_ui: str | None = Field(None, description="The batch operation in the Temporal Web UI.")

    @classmethod
    def of(cls, operation: Operation) -> JourneyOperationPublic:
        return cls(
            id=operation.id,
            journey_id=operation.journey_id,
            action=operation.action,
            state=operation.state,
            progress=OperationProgress(total=operation.total, done=operation.done, failed=operation.failed),
            started_at=operation.started_at,
            finished_at=operation.finished_at,
            temporal_ui=operation.temporal_ui,
        )


class JourneyControlRequest(SafeInput):
    reason: str | None = Field(None, max_length=500, description="Recorded with the operation (and a stop's exit).")


class JourneyMigrate(SafeInput):
    from_version: int = Field(ge=1, le=2**31 - 1, description="The version whose running contacts move.")
    to_version: int | None = Field(None, ge=1, le=2**31 - 1, description="Where they go (not with exit).")
    node_map: dict[NodeId, NodeId] = Field(
        default_factory=dict, max_length=MAX_STEPS, description="Old node -> node of the new version."
    )
    unmapped: Literal["exit", "stay"] = Field(
        "exit", description="Contacts at a node the map does not name: exit, or stay on their version."
    )
    exit: bool = Field(False, description="Exit every running contact of from_version instead of moving them.")
    dry_run: bool = Field(True, description="Only report what would happen; false confirms it.")
    reason: str | None = Field(None, max_length=500)


class MigrationNode(BaseModel):
    node: str
    type: str
    contacts: int = Field(description="Running contacts of the old version standing at this node.")
    fate: Literal["moves", "exits", "stays"]
    target: str | None = Field(None, description="The node of the new version they move to.")


class MigrationInvalid(BaseModel):
    node: str
    code: str
    message: str


class MigrationReport(BaseModel):
    dry_run: bool
    from_version: int
    to_version: int | None
    exit: bool
    total: int = Field(description="Running contacts of the old version.")
    elsewhere: int = Field(0, description="Of those, contacts at no node yet (entering) or between nodes.")
    nodes: list[MigrationNode]
    mapped: list[str]
    unmapped: list[str]
    invalid: list[MigrationInvalid] = Field(default_factory=list)
    operation: JourneyOperationPublic | None = Field(None, description="The batch operation, once confirmed.")
