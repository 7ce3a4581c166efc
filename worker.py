"""Composition root of the Temporal worker: builds the clients once, registers workflows and activities."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.dead_letters.recording import DeadLetterActivities
from activities.delivery.breaker import BreakerPolicy, CircuitBreaker
from activities.delivery.composer import EmailComposer
from activities.delivery.google_auth import ServiceAccountTokens
from activities.delivery.registry import ProviderRegistry
from activities.delivery.service import Delivery
from activities.identity.journeys import MergeJourneyActivities
from activities.identity.merge import IdentityActivities
from activities.imports.process import ImportActivities
from activities.journeys.announcements import JourneyAnnouncementActivities
from activities.journeys.conditions import SplitActivities
from activities.journeys.contact_steps import ContactStepActivities
from activities.journeys.dead_letters import JourneyDeadLetterActivities
from activities.journeys.email import JourneyEmailActivities
from activities.journeys.loading import JourneyLoadingActivities
from activities.journeys.sample_send import JourneyTestSendActivities
from activities.journeys.send_gate import SendGateActivities
from activities.journeys.versions import JourneyVersions
from activities.journeys.waits import JourneyWaitActivities
from activities.scoring.activities import ScoringActivities
from activities.scoring.schedules import ensure_scoring_schedules
from activities.segments.refresh import SegmentActivities
from activities.segments.schedules import ensure_refresh_schedule
from activities.sending_domains.activities import SendingDomainActivities
from activities.sending_domains.checker import SendingDomainChecker
from activities.sending_domains.resolver import DnsResolver
from activities.tasks.activities import TaskActivities
from activities.webhooks.delivery import WebhookDeliveryActivities
from activities.webhooks.journey_step import JourneyWebhookActivities
from activities.webhooks.transport import webhook_http_client
from dispatch.runner import build_dispatcher, running_dispatcher
from domain.delivery.providers import SmtpProviderConfig
from mauntic.journey_simulation import JourneySimulator, SimulationActivities
from mauntic.secrets import SecretBox
from mauntic.settings import Settings, get_settings
from mauntic.temporal import TemporalGateway, connect
from mauntic.webhook_wake import wake_deliveries
from store.db import create_async_db_engine, is_sqlite, session_factory
from store.outbox_wake import DispatchWaker
from store.webhook_endpoints import SubscribedTypes
from workflows.contact_import import ContactImportWorkflow
from workflows.contact_merge import ContactMergeWorkflow
from workflows.dead_letter_replay import ReplaySend
from workflows.journey import JourneyWorkflow
from workflows.journey_simulation import JourneySimulation
from workflows.journey_test_send import JourneyTestSend
from workflows.message_resend import MessageResend
from workflows.runner import workflow_runner
from workflows.score_recompute import WORKFLOWS as SCORING_WORKFLOWS
from workflows.search_attributes import register_search_attributes
from workflows.segment_refresh import SegmentRefresh
from workflows.sending_domain import SendingDomainCheck, SendingDomainRecheck, SendingDomainVerification
from workflows.webhook_deliveries import WebhookDeliveries

log = logging.getLogger("mauntic.worker")


def relay_smtp(settings: Settings) -> SmtpProviderConfig:
    """The deployment's SMTP relay: the email provider of workspaces that configured none."""
    security = "tls" if settings.smtp_tls else "starttls" if settings.smtp_starttls else "none"
    return SmtpProviderConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=security,
        username=settings.smtp_username,
        password=settings.smtp_password,
        timeout_seconds=settings.smtp_timeout_seconds,
    )


def provider_http_client(settings: Settings) -> httpx.AsyncClient:
    """One client for every provider API: pooled connections, and the timeout that makes a hung provider a
    transient failure (and the chain move on) well inside the send activity's own timeout."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.provider_timeout_seconds, connect=5.0),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        follow_redirects=False,
    )


def email_delivery(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient
) -> tuple[EmailComposer, Delivery]:
    box = SecretBox(settings.resolved_secret_key())
    registry = ProviderRegistry(box, http, ServiceAccountTokens(http), relay_smtp(settings))
    breaker = CircuitBreaker(
        BreakerPolicy(settings.provider_breaker_failures, settings.provider_breaker_cooldown_seconds)
    )
    return EmailComposer(sessions, box, settings.api_base_url), Delivery(sessions, registry, breaker)


def journey_email_activities(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], versions: JourneyVersions, http: httpx.AsyncClient
) -> JourneyEmailActivities:
    composer, delivery = email_delivery(settings, sessions, http)
    return JourneyEmailActivities(sessions, versions, composer, delivery, settings.email_from)


def outbound_webhook_client(settings: Settings) -> httpx.AsyncClient:
    """The one client of every outbound webhook delivery: its connections resolve and check each endpoint's host
    (no private addresses unless MAUNTIC_PROVIDER_PRIVATE_NETWORKS), pooled for chunks delivered concurrently."""
    return webhook_http_client(
        private_networks_allowed=settings.provider_private_networks,
        timeout_seconds=settings.webhook_timeout_seconds,
        max_connections=settings.webhook_max_connections,
    )


def webhook_delivery_activities(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient
) -> WebhookDeliveryActivities:
    return WebhookDeliveryActivities(
        sessions,
        http,
        SecretBox(settings.resolved_secret_key()),
        endpoint_concurrency=settings.webhook_endpoint_concurrency,
        retry_scale=settings.webhook_retry_scale,
    )


def journey_webhook_activities(
    settings: Settings,
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    versions: JourneyVersions,
    http: httpx.AsyncClient,
) -> JourneyWebhookActivities:
    """The webhook step: the delivery client and the endpoints' secrets, and a wake of the delivery workflow for
    the deliveries it queues."""
    gateway = TemporalGateway(settings, client)

    async def wake(reason: str) -> None:
        await wake_deliveries(gateway, settings, reason)

    box = SecretBox(settings.resolved_secret_key())
    return JourneyWebhookActivities(sessions, versions, http, box, wake, max_attempts=settings.webhook_max_attempts)


def build_worker(
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    hooks_http: httpx.AsyncClient | None = None,
) -> Worker:
    versions = JourneyVersions()
    loading = JourneyLoadingActivities(sessions, versions)
    dead_letters = JourneyDeadLetterActivities(sessions)
    announcements = JourneyAnnouncementActivities(sessions)
    waits = JourneyWaitActivities(sessions)
    recording = DeadLetterActivities(sessions)
    email = journey_email_activities(settings, sessions, versions, http)
    test_send = JourneyTestSendActivities(*email_delivery(settings, sessions, http), settings.email_from)
    gate = SendGateActivities(sessions)
    checker = SendingDomainChecker(DnsResolver.from_settings(settings))
    domains = SendingDomainActivities(sessions, checker, client, settings.temporal_task_queue)
    hooks = webhook_delivery_activities(settings, sessions, hooks_http or http)
    step_hooks = journey_webhook_activities(settings, client, sessions, versions, hooks_http or http)
    tasks = TaskActivities(sessions, versions)
    scoring = ScoringActivities(sessions)
    segments = SegmentActivities(sessions, settings.segment_refresh_chunk, settings.segment_entry_rate)
    splits = SplitActivities(sessions)
    url = settings.resolved_database_url
    contact_steps = ContactStepActivities(sessions, DispatchWaker(url).wake if is_sqlite(url) else None)
    identity = IdentityActivities(sessions, DispatchWaker(url).wake if is_sqlite(url) else None)
    merge_journeys = MergeJourneyActivities(client, settings.temporal_task_queue, SubscribedTypes(sessions))
    simulations = SimulationActivities(
        JourneySimulator(ports=settings.simulation_ports)
    )  # a test server per simulation
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=[
            JourneyWorkflow,
            JourneySimulation,
            MessageResend,
            JourneyTestSend,
            ReplaySend,
            SendingDomainVerification,
            SendingDomainRecheck,
            SendingDomainCheck,
            WebhookDeliveries,
            *SCORING_WORKFLOWS,
            SegmentRefresh,
            ContactImportWorkflow,
            ContactMergeWorkflow,
        ],
        workflow_runner=workflow_runner(),
        activities=[
            loading.load_version,
            dead_letters.record,
            announcements.announce_completed,
            recording.record,
            email.send_journey_email,
            test_send.send_test_email,
            *waits.all(),
            gate.check_send_gate,
            *domains.all(),
            *hooks.all(),
            *step_hooks.all(),
            *tasks.all(),
            *scoring.all(),
            segments.list_time_based,
            segments.refresh,
            splits.evaluate_split,
            *contact_steps.all(),
            simulations.simulate,
            *ImportActivities(url).all(),
            *identity.all(),
            merge_journeys.move_journeys,
        ],
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        max_concurrent_local_activities=settings.worker_max_concurrent_activities,
        max_cached_workflows=settings.worker_max_cached_workflows,
    )


@asynccontextmanager
async def running_worker(
    settings: Settings, client: Client | None = None, *, schedules: bool = True
) -> AsyncIterator[Worker]:
    """A started worker with its own database engine, and the journey dispatcher unless settings turn it off;
    stops (draining in-flight tasks) on exit. `schedules=False` skips ensuring the Temporal Schedules (the
    time-skipping test server does not implement them)."""
    client = client or await connect(settings)
    await register_search_attributes(client)
    if schedules:
        await ensure_scoring_schedules(client, settings.temporal_task_queue)
        await ensure_refresh_schedule(
            client, timedelta(minutes=settings.segment_refresh_minutes), settings.temporal_task_queue
        )
    engine = create_async_db_engine(settings.resolved_database_url)
    try:
        async with provider_http_client(settings) as http, outbound_webhook_client(settings) as hooks_http:
            sessions = session_factory(engine)
            worker = build_worker(client, settings, sessions, http, hooks_http)
            async with worker, contextlib.AsyncExitStack() as stack:
                if settings.dispatcher:
                    # the worker's own client: its journey starts can be eager (dispatch/journeys.py)
                    gateway = TemporalGateway(settings, client)
                    await stack.enter_async_context(
                        running_dispatcher(build_dispatcher(settings, sessions, gateway, eager_start=True))
                    )
                yield worker
    finally:
        await engine.dispose()


async def serve(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if not settings.api_base_url.startswith("https://"):
        log.warning(
            "MAUNTIC_PUBLIC_URL is %s: unsubscribe links are not https, so mailbox providers will not offer "
            "one-click unsubscribe (RFC 8058 requires https); set it to the API's public https URL",
            settings.api_base_url,
        )
    async with running_worker(settings):
        log.info("worker polling task queue %s on %s", settings.temporal_task_queue, settings.temporal_target)
        await stop.wait()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve(get_settings()))


if __name__ == "__main__":
    main()
