"""Composition root of the Temporal worker: builds the clients once, registers workflows and activities."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.delivery.smtp import SmtpConfig, SmtpSender
from activities.journeys.email import JourneyEmailActivities
from activities.journeys.loading import JourneyLoadingActivities
from activities.journeys.versions import JourneyVersions
from activities.sending_domains.activities import SendingDomainActivities
from activities.sending_domains.checker import SendingDomainChecker
from activities.sending_domains.resolver import DnsResolver
from mauntic.settings import Settings, get_settings
from mauntic.temporal import connect
from store.db import create_async_db_engine, session_factory
from workflows.journey import JourneyWorkflow
from workflows.runner import workflow_runner
from workflows.search_attributes import register_search_attributes
from workflows.sending_domain import SendingDomainRecheck, SendingDomainVerification

log = logging.getLogger("mauntic.worker")


def smtp_sender(settings: Settings) -> SmtpSender:
    return SmtpSender(
        SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            start_tls=settings.smtp_starttls,
            use_tls=settings.smtp_tls,
            timeout=settings.smtp_timeout_seconds,
        )
    )


def build_worker(client: Client, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> Worker:
    versions = JourneyVersions()
    loading = JourneyLoadingActivities(sessions, versions)
    email = JourneyEmailActivities(sessions, versions, smtp_sender(settings), settings.email_from)
    checker = SendingDomainChecker(DnsResolver.from_settings(settings))
    domains = SendingDomainActivities(sessions, checker, client, settings.temporal_task_queue)
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=[JourneyWorkflow, SendingDomainVerification, SendingDomainRecheck],
        workflow_runner=workflow_runner(),
        activities=[loading.load_version, email.send_journey_email, *domains.all()],
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        max_concurrent_local_activities=settings.worker_max_concurrent_activities,
    )


@asynccontextmanager
async def running_worker(settings: Settings, client: Client | None = None) -> AsyncIterator[Worker]:
    """A started worker with its own database engine; stops (draining in-flight tasks) on exit."""
    client = client or await connect(settings)
    await register_search_attributes(client)
    engine = create_async_db_engine(settings.resolved_database_url)
    try:
        worker = build_worker(client, settings, session_factory(engine))
        async with worker:
            yield worker
    finally:
        await engine.dispose()


async def serve(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running_worker(settings):
        log.info("worker polling task queue %s on %s", settings.temporal_task_queue, settings.temporal_target)
        await stop.wait()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve(get_settings()))


if __name__ == "__main__":
    main()
