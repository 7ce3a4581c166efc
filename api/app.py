"""FastAPI app factory. Clients are built in the lifespan, once per process, never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from api.access.openapi import declare_permissions
from api.body_limit import BoundedBodyMiddleware, body_limits
from api.context import AppContext
from api.dispatch_interest import DispatchInterest
from api.errors import ERROR_RESPONSES, install_error_handlers
from api.journeys.service import JourneyService
from api.request_id import RequestIdMiddleware
from api.routes import (
    audit,
    calendar,
    companies,
    consent,
    contact_export,
    contacts,
    dead_letters,
    field_policies,
    health,
    identity,
    imports,
    ingest,
    ingest_rejections,
    journey_control,
    journey_inspection,
    journey_simulation,
    journeys,
    keys,
    merges,
    messages,
    preferences,
    providers,
    roles,
    scoring,
    segments,
    send_policy,
    sending_domains,
    suppressions,
    tasks,
    unsubscribe,
    users,
    webhook_endpoints,
    webhooks,
)
from api.segments.service import SegmentService
from api.tasks.service import TaskService
from mauntic.dead_letters.service import DeadLetterService
from mauntic.secrets import SecretBox
from mauntic.settings import Settings, get_settings
from mauntic.temporal import TemporalGateway
from store.db import create_async_db_engine, session_factory
from store.interest import INTEREST_SOURCES
from store.outbox_wake import DispatchWaker


def create_app(settings: Settings | None = None, temporal: TemporalGateway | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_async_db_engine(settings.resolved_database_url)
        sessions = session_factory(engine)
        gateway = temporal or TemporalGateway(settings)
        waker = DispatchWaker(settings.resolved_database_url)
        interest = DispatchInterest(sessions, INTEREST_SOURCES)
        secrets = SecretBox(settings.resolved_secret_key())
        context = app.state.context = AppContext(
            settings=settings,
            engine=engine,
            sessions=sessions,
            temporal=gateway,
            waker=waker,
            interest=interest,
            secrets=secrets,
            dead_letters=DeadLetterService(gateway),
            segments=SegmentService(settings.segment_entry_rate),
            journeys=JourneyService(interest, waker),
            tasks=TaskService(gateway),
        )
        try:
            yield
        finally:
            context.close()
            context.waker.close()
            await engine.dispose()

    # Swagger UI and ReDoc are served from the assets fastapi-offline ships, not a CDN: /docs works offline.
    app = FastAPIOffline(
        title="mauntic",
        version="0.1.0",
        summary="Marketing automation on Temporal: contacts, Segment-compatible ingestion, journeys.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # outermost but for Starlette's error middleware: a body over its limit never reaches routing or parsing
    app.add_middleware(BoundedBodyMiddleware, default_bytes=settings.max_body_bytes, limits=body_limits(settings))
    app.add_middleware(RequestIdMiddleware)  # outside the body limit: a refused request has an id too
    for module in (
        health,
        keys,
        roles,
        users,
        contact_export,  # before contacts: `/export` is not a contact id
        merges,
        contacts,
        ingest,
        ingest_rejections,
        journeys,
        journey_inspection,
        journey_control,
        journey_simulation,
        providers,
        suppressions,
        unsubscribe,
        sending_domains,
        webhooks,
        messages,
        dead_letters,
        webhook_endpoints,
        scoring,
        segments,
        tasks,
        calendar,
        send_policy,
        imports,
        field_policies,
        consent,
        preferences,
        identity,
        companies,
        audit,
    ):
        # unsubscribe and preferences answer HTML pages, not the JSON error shape
        # each operation names the permission it checks (x-permission)
        router = declare_permissions(module.router)
        app.include_router(router, responses=None if module in (unsubscribe, preferences) else ERROR_RESPONSES)
    return app
