"""What the app holds for its lifetime: the database engine, a session factory and the Temporal gateway."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.journey_dispatch import JourneyDispatcher
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    temporal: TemporalGateway
    dispatcher: JourneyDispatcher
    extras: dict[str, object] = field(default_factory=dict)
