"""The delivery service over stored providers: a workspace's SMS chain, built from its provider rows, fails over
from a provider with rejected credentials to the next one (the Twilio fake, real database)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.delivery.breaker import CircuitBreaker
from activities.delivery.chain import ChainExhausted
from activities.delivery.google_auth import ServiceAccountTokens
from activities.delivery.registry import ProviderRegistry
from activities.delivery.service import Delivery
from domain.delivery.outbound import OutboundSms
from domain.delivery.providers import TwilioProviderConfig
from mauntic.secrets import SecretBox
from store.db import create_async_db_engine, session_factory
from store.workspaces import NewWorkspace
from tests.activities.test_journey_email import add_provider
from tests.conftest import TEST_SECRET_KEY
from tests.fakes.twilio import FakeTwilio
from tests.servers import serve_api

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "auth-token-1234"
FROM = "+15005550006"
SMS = OutboundSms(idempotency_key="k1", message_log_id="msg_1", to="+14155550100", body="Your code is 1234")


@pytest.fixture
async def twilio() -> AsyncIterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, numbers={FROM})
    async with serve_api(fake.app()) as base_url:
        yield fake, base_url


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_db_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def delivery(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Delivery]:
    async with httpx.AsyncClient(timeout=5) as http:
        registry = ProviderRegistry(SecretBox(TEST_SECRET_KEY), http, ServiceAccountTokens(http))
        yield Delivery(sessions, registry, CircuitBreaker())


def twilio_config(base_url: str, auth_token: str) -> TwilioProviderConfig:
    return TwilioProviderConfig(account_sid=ACCOUNT_SID, auth_token=auth_token, from_number=FROM, base_url=base_url)


async def test_sms_fails_over_from_rejected_credentials_to_the_next_provider(
    sessions: async_sessionmaker[AsyncSession],
    workspace: NewWorkspace,
    twilio: tuple[FakeTwilio, str],
    delivery: Delivery,
) -> None:
    fake, base_url = twilio
    workspace_id = workspace.workspace.id
    await add_provider(sessions, workspace_id, "old-token", 1, twilio_config(base_url, "revoked-token"))
    current = await add_provider(sessions, workspace_id, "current", 2, twilio_config(base_url, AUTH_TOKEN))

    result = await delivery.send_sms(workspace_id, SMS)

    assert result.provider_id == current
    assert [a.outcome for a in result.failed_before] == ["misconfigured"]
    [message] = fake.messages
    assert result.acceptance.provider_message_id == message["sid"]


async def test_a_channel_without_providers_has_nothing_to_send_with(
    workspace: NewWorkspace, delivery: Delivery
) -> None:
    with pytest.raises(ChainExhausted, match="no provider configured"):
        await delivery.send_sms(workspace.workspace.id, SMS)
