"""Building and running a dispatcher: inside the worker (`running_dispatcher`) or alone (`mauntic dispatcher`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.consumers import build_consumers
from dispatch.dispatcher import Dispatcher
from dispatch.journeys import JourneyRouter
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from store.db import create_async_db_engine, session_factory

log = logging.getLogger("mauntic.dispatcher")


def build_dispatcher(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], temporal: TemporalGateway, *, eager_start: bool
) -> Dispatcher:
    return Dispatcher(
        sessions,
        JourneyRouter(sessions, temporal, eager_start=eager_start),
        settings.resolved_database_url,
        consumers=build_consumers(sessions, settings, temporal),
        batch_size=settings.dispatch_batch_size,
        concurrency=settings.dispatch_concurrency,
        poll_seconds=settings.dispatch_poll_seconds,
    )


@contextlib.asynccontextmanager
async def running_dispatcher(dispatcher: Dispatcher) -> AsyncIterator[Dispatcher]:
    """The dispatcher's loop as a task for the block's duration; a crash of the loop is logged and restarted."""

    async def supervise() -> None:
        while True:
            try:
                await dispatcher.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatcher stopped unexpectedly; restarting in 1 s")
                await asyncio.sleep(1.0)

    task = asyncio.create_task(supervise(), name="dispatcher")
    try:
        yield dispatcher
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def serve(settings: Settings) -> None:
    """`mauntic dispatcher`: a dispatcher of its own (no worker beside it, so starts are not eager)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    engine = create_async_db_engine(settings.resolved_database_url)
    try:
        dispatcher = build_dispatcher(settings, session_factory(engine), TemporalGateway(settings), eager_start=False)
        async with running_dispatcher(dispatcher):
            await stop.wait()
    finally:
        await engine.dispose()
