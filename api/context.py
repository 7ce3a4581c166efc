"""What the app holds for its lifetime: the database engine, a session factory, the Temporal gateway and the
dispatch waker."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.access.layer import PermissionLayer
from api.dispatch_interest import DispatchInterest
from api.field_policies.service import FieldPolicyService
from api.journeys.service import JourneyService
from api.segments.service import SegmentService
from api.tasks.service import TaskService
from mauntic.dead_letters.service import DeadLetterService
from mauntic.secrets import SecretBox
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.outbox_wake import DispatchWaker


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    temporal: TemporalGateway
    waker: DispatchWaker  # tells dispatchers about new outbox rows and journey changes
    interest: DispatchInterest  # what dispatcher consumers care about (only that is queued in the outbox)
    secrets: SecretBox
    dead_letters: DeadLetterService  # find, replay and discard dead letters (shared with `mauntic dlq`)
    segments: SegmentService
    journeys: JourneyService
    tasks: TaskService  # human tasks of journeys: completing one signals its journey
    field_policies: FieldPolicyService = field(default_factory=FieldPolicyService)  # per-role field controls
    extras: dict[str, object] = field(default_factory=dict)
    permissions: PermissionLayer = field(default_factory=PermissionLayer)  # role -> permissions, cached
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Release what parts of the app built lazily (in reverse order of registration)."""
        while self.closers:
            self.closers.pop()()
