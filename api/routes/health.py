from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from starlette.responses import Response

from api.deps import AppSettings, Session, Temporal
from domain.clock import utcnow
from store.messages import status_counts
from store.outbox import Lag, Totals, lag, totals

router = APIRouter(tags=["health"])
MESSAGES = Gauge("mauntic_messages", "Message-log rows by status (uncertain: may or may not have arrived)", ["status"])
_ALWAYS_REPORTED = ("pending", "sending", "sent", "skipped", "failed", "uncertain")
DISPATCH_PENDING = Gauge("mauntic_dispatch_pending", "Events in the dispatch outbox not yet handed to journeys")
DISPATCH_OLDEST = Gauge(
    "mauntic_dispatch_oldest_seconds", "Age of the oldest event not yet handed to journeys (0 when none waits)"
)
DISPATCH_PARKED = Gauge("mauntic_dispatch_parked", "Outbox events set aside after failing repeatedly")


class _DispatchTotals(Collector):
    """Every dispatcher's counters, summed from the database at scrape time (they run in other processes)."""

    def __init__(self) -> None:
        self.latest = Totals(0, 0, 0)

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "mauntic_dispatched", "Outbox events handed to journeys, all dispatchers", value=self.latest.dispatched
        )
        yield CounterMetricFamily(
            "mauntic_dispatch_failures",
            "Failed attempts to hand an outbox event to journeys",
            value=self.latest.failures,
        )


DISPATCH_TOTALS = _DispatchTotals()
REGISTRY.register(DISPATCH_TOTALS)


def _oldest_seconds(found: Lag) -> float | None:
    return max(0.0, (utcnow() - found.oldest).total_seconds()) if found.oldest is not None else None


@router.get("/health")
async def health(session: Session, temporal: Temporal, settings: AppSettings) -> JSONResponse:
    """Database and Temporal reachability (503 when either is down) and the dispatch lag: `degraded`, still 200,
    while the oldest event not yet handed to journeys is older than MAUNTIC_DISPATCH_LAG_DEGRADED_SECONDS
    (ingestion goes on accepting meanwhile)."""
    dispatch: dict[str, Any] | None = None
    try:
        await session.execute(text("SELECT 1"))
        found = await lag(session)
        oldest = _oldest_seconds(found)
        lagging = oldest is not None and oldest > settings.dispatch_lag_degraded_seconds
        dispatch = {
            "status": "lagging" if lagging else "ok",
            "pending": found.pending,
            "oldest_seconds": round(oldest, 3) if oldest is not None else None,
            "parked": found.parked,
        }
        database = True
    except Exception:
        database = False
    temporal_ok = await temporal.reachable()
    healthy = database and temporal_ok
    body: dict[str, Any] = {
        "status": "ok" if healthy and dispatch and dispatch["status"] == "ok" else "degraded",
        "database": "ok" if database else "unreachable",
        "temporal": "ok" if temporal_ok else "unreachable",
        "dispatch": dispatch,
    }
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics(session: Session) -> Response:
    """Prometheus metrics; message-log and dispatch figures are read at scrape time (a few grouped queries)."""
    counts = await status_counts(session)
    for status in {*_ALWAYS_REPORTED, *counts}:
        MESSAGES.labels(status=status).set(counts.get(status, 0))
    found = await lag(session)
    DISPATCH_PENDING.set(found.pending)
    DISPATCH_OLDEST.set(_oldest_seconds(found) or 0.0)
    DISPATCH_PARKED.set(found.parked)
    DISPATCH_TOTALS.latest = await totals(session)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
