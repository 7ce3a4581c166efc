"""The stack the end-to-end tests drive: a real worker on the dev server and the API under uvicorn, with an SMTP
server on loopback as the deployment's relay. A test module overrides `stack_settings` to change the wiring."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from api.app import create_app
from mauntic.settings import Settings
from mauntic.temporal import TemporalGateway
from tests.conftest import make_settings
from tests.outbox_rows import discard_outbox
from tests.servers import SmtpSink, serve_api
from worker import running_worker


@pytest.fixture
def stack_settings(database_url: str, smtp: SmtpSink) -> Settings:
    return make_settings(database_url, smtp_host=smtp.host, smtp_port=smtp.port, email_from="Team <team@example.test>")


@pytest.fixture
async def base_url(stack_settings: Settings, temporal_client: Client) -> AsyncIterator[str]:
    await discard_outbox(stack_settings.resolved_database_url)
    app = create_app(stack_settings, TemporalGateway(stack_settings, temporal_client))
    async with running_worker(stack_settings, temporal_client), serve_api(app) as url:
        yield url
