"""The registry of what dispatcher consumers want queued in the outbox, one source per consumer context.

`api.dispatch_interest.DispatchInterest` unites the sources' answers per workspace (cached); a context that
consumes outbox rows (journeys, segments, scoring, outbound webhooks) adds its source here, once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from domain.events.interest import Interest
from store.journeys import journey_interest
from store.scoring_rules import scoring_interest
from store.segments import segment_interest
from store.webhook_endpoints import webhook_interest

InterestSource = Callable[[AsyncSession, str], Awaitable[Interest]]

INTEREST_SOURCES: tuple[InterestSource, ...] = (scoring_interest, journey_interest, segment_interest, webhook_interest)
