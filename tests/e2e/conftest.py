"""The stack the end-to-end tests drive: a real worker on the dev server and the API under uvicorn, with an SMTP
server on loopback as the deployment's relay. A test module overrides `stack_settings` to change the wiring.

`skipping_stack` is the same stack on the time-skipping test server instead: a test that must see a long timer
fire (hours) skips time with `skipping_stack.skip(...)`; the server implements no Schedules, so the worker
ensures none there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from tests.conftest import binary, make_settings
from tests.outbox_rows import discard_outbox
from tests.servers import SmtpSink, serve_api
from worker import running_worker
from workflows.search_attributes import register_search_attributes


@pytest.fixture
def stack_settings(database_url: str, smtp: SmtpSink) -> Settings:
    return make_settings(database_url, smtp_host=smtp.host, smtp_port=smtp.port, email_from="Team <team@example.test>")


@pytest.fixture
async def base_url(stack_settings: Settings, temporal_client: Client) -> AsyncIterator[str]:
    await discard_outbox(stack_settings.resolved_database_url)
    app = create_app(stack_settings, TemporalGateway(stack_settings, temporal_client))
    async with running_worker(stack_settings, temporal_client), serve_api(app) as url:
        yield url


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server: time passes as on a wall clock until a test skips it (env.sleep)."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=pydantic_data_converter
    )
    try:
        # It rejects undeclared search attributes but implements AddSearchAttributes: registered as in production.
        await register_search_attributes(env.client)
        yield env
    finally:
        await env.shutdown()


# How long one skip may take on the wall clock. The test server moves its clock only while nothing is running, so
# a skip over timers that wake hundreds of journeys lasts as long as their work does: past the client's default
# RPC deadline (30 s) on a loaded 2-core machine.
SKIP_RPC_TIMEOUT = timedelta(minutes=5)


@dataclass
class SkippingStack:
    url: str
    env: WorkflowEnvironment

    async def skip(self, duration: timedelta) -> None:
        """`env.sleep(duration)` with a deadline that fits the work the skipped time wakes."""
        request = SleepRequest()
        request.duration.FromTimedelta(duration)
        await self.env.client.test_service.unlock_time_skipping_with_sleep(request, timeout=SKIP_RPC_TIMEOUT)


@pytest.fixture
async def skipping_stack(
    stack_settings: Settings, time_skipping_env: WorkflowEnvironment
) -> AsyncIterator[SkippingStack]:
    """The real API, dispatcher and worker against the time-skipping test server."""
    client = time_skipping_env.client
    await discard_outbox(stack_settings.resolved_database_url)
    app = create_app(stack_settings, TemporalGateway(stack_settings, client))
    async with running_worker(stack_settings, client, schedules=False), serve_api(app) as url:
        yield SkippingStack(url, time_skipping_env)
