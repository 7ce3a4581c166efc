"""TwilioProvider against a fake of Twilio's Messages API served by uvicorn on loopback."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from activities.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    ProviderConfigurationError,
    TransientDeliveryError,
)
from activities.delivery.twilio import TwilioProvider
from domain.delivery.outbound import OutboundSms
from domain.delivery.providers import TwilioProviderConfig
from tests.fakes.twilio import FakeTwilio
from tests.servers import free_port, serve_api

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "auth-token-1234"
FROM = "+15005550006"
SERVICE_SID = "MG" + "fedcba9876543210" * 2


@dataclass
class Twilio:
    fake: FakeTwilio
    base_url: str
    http: httpx.AsyncClient

    def provider(self, **overrides: Any) -> TwilioProvider:
        raw = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": FROM, "base_url": self.base_url}
        return TwilioProvider(TwilioProviderConfig.model_validate({**raw, **overrides}), self.http)


@pytest.fixture
async def twilio() -> AsyncIterator[Twilio]:
    fake = FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, numbers={FROM}, messaging_services={SERVICE_SID})
    async with serve_api(fake.app()) as base_url, httpx.AsyncClient(timeout=10) as http:
        yield Twilio(fake, base_url, http)


def _sms(to: str = "+14155550100", body: str = "Your code is 1234") -> OutboundSms:
    return OutboundSms(idempotency_key="k1", message_log_id="msg_1", to=to, body=body)


async def test_sends_form_with_basic_auth_and_returns_the_sid(twilio: Twilio) -> None:
    acceptance = await twilio.provider(status_callback_url="https://hooks.example.test/twilio").send_sms(_sms())

    [request] = twilio.fake.requests
    assert request.account_sid == ACCOUNT_SID
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.form == {
        "To": "+14155550100",
        "From": FROM,
        "Body": "Your code is 1234",
        "StatusCallback": "https://hooks.example.test/twilio",
    }
    assert request.authorization == "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    [message] = twilio.fake.messages
    assert acceptance.provider == "twilio"
    assert acceptance.provider_message_id == message["sid"]
    assert acceptance.provider_message_id.startswith("SM")


async def test_messaging_service_replaces_from(twilio: Twilio) -> None:
    await twilio.provider(from_number=None, messaging_service_sid=SERVICE_SID).send_sms(_sms())
    [request] = twilio.fake.requests
    assert request.form == {"To": "+14155550100", "MessagingServiceSid": SERVICE_SID, "Body": "Your code is 1234"}
    assert twilio.fake.messages[0]["status"] == "accepted"


@pytest.mark.parametrize(
    ("setup", "to", "error", "code"),
    [
        (None, "12345", PermanentDeliveryError, "twilio:21211"),
        ("landline", "+14155550101", PermanentDeliveryError, "twilio:21614"),
        ("unsubscribed", "+14155550102", PermanentDeliveryError, "twilio:21610"),
    ],
)
async def test_recipient_errors_are_permanent(
    twilio: Twilio, setup: str | None, to: str, error: type[DeliveryError], code: str
) -> None:
    if setup == "landline":
        twilio.fake.landlines.add(to)
    elif setup == "unsubscribed":
        twilio.fake.unsubscribed.add(to)
    with pytest.raises(error) as caught:
        await twilio.provider().send_sms(_sms(to=to))
    assert type(caught.value) is error
    assert caught.value.code == code
    assert twilio.fake.messages == []


async def test_region_not_enabled_is_permanent(twilio: Twilio) -> None:
    twilio.fake.fail_next(400, 21408, "Permission to send an SMS has not been enabled for the region indicated")
    with pytest.raises(PermanentDeliveryError) as caught:
        await twilio.provider().send_sms(_sms())
    assert caught.value.code == "twilio:21408"
    assert "not been enabled for the region" in str(caught.value)


async def test_wrong_auth_token_is_a_configuration_error(twilio: Twilio) -> None:
    with pytest.raises(ProviderConfigurationError) as caught:
        await twilio.provider(auth_token="wrong").send_sms(_sms())
    assert caught.value.code == "twilio:20003"
    assert twilio.fake.messages == []


async def test_sender_not_owned_is_a_configuration_error(twilio: Twilio) -> None:
    with pytest.raises(ProviderConfigurationError) as caught:
        await twilio.provider(from_number="+15005550009").send_sms(_sms())
    assert caught.value.code == "twilio:21606"


async def test_unknown_messaging_service_is_a_configuration_error(twilio: Twilio) -> None:
    with pytest.raises(ProviderConfigurationError) as caught:
        await twilio.provider(from_number=None, messaging_service_sid="MG" + "0" * 32).send_sms(_sms())
    assert caught.value.code == "twilio:21705"


async def test_rate_limit_is_transient_with_retry_after(twilio: Twilio) -> None:
    twilio.fake.fail_next(429, 20429, "Too Many Requests", retry_after="7")
    with pytest.raises(TransientDeliveryError) as caught:
        await twilio.provider().send_sms(_sms())
    assert caught.value.code == "twilio:20429"
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(("status", "code"), [(500, 20500), (503, 20503)])
async def test_server_errors_are_transient(twilio: Twilio, status: int, code: int) -> None:
    twilio.fake.fail_next(status, code, "Service unavailable")
    with pytest.raises(TransientDeliveryError) as caught:
        await twilio.provider().send_sms(_sms())
    assert caught.value.code == f"twilio:{code}"
    assert caught.value.retry_after is None


async def test_non_json_gateway_error_is_transient(twilio: Twilio) -> None:
    twilio.fake.fail_next(502, None, "<html>Bad Gateway</html>", retry_after="3")
    with pytest.raises(TransientDeliveryError) as caught:
        await twilio.provider().send_sms(_sms())
    assert caught.value.code == "twilio:502"
    assert caught.value.retry_after == 3.0


async def test_unreachable_is_transient() -> None:
    config = TwilioProviderConfig(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number=FROM, base_url=f"http://127.0.0.1:{free_port()}"
    )
    async with httpx.AsyncClient(timeout=5) as http:
        with pytest.raises(TransientDeliveryError) as caught:
            await TwilioProvider(config, http).send_sms(_sms())
    assert caught.value.code == "twilio:connection"
