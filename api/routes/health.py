from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from sqlalchemy import text
from starlette.responses import Response

from api.deps import Session, Temporal
from store.messages import status_counts

router = APIRouter(tags=["health"])
MESSAGES = Gauge("mauntic_messages", "Message-log rows by status (uncertain: may or may not have arrived)", ["status"])
_ALWAYS_REPORTED = ("pending", "sending", "sent", "skipped", "failed", "uncertain")


@router.get("/health")
async def health(session: Session, temporal: Temporal) -> JSONResponse:
    """Database and Temporal reachability; 503 when either is down."""
    try:
        await session.execute(text("SELECT 1"))
        database = True
    except Exception:
        database = False
    temporal_ok = await temporal.reachable()
    healthy = database and temporal_ok
    body = {
        "status": "ok" if healthy else "degraded",
        "database": "ok" if database else "unreachable",
        "temporal": "ok" if temporal_ok else "unreachable",
    }
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics(session: Session) -> Response:
    """Prometheus metrics; the message-log gauge is counted at scrape time by one grouped query."""
    counts = await status_counts(session)
    for status in {*_ALWAYS_REPORTED, *counts}:
        MESSAGES.labels(status=status).set(counts.get(status, 0))
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
