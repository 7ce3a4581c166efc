from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.responses import Response

from api.deps import Session, Temporal

router = APIRouter(tags=["health"])


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
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
