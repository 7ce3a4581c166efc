"""SendGrid adapter contract against the v3 Mail Send fake."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from activities.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    ProviderConfigurationError,
    TransientDeliveryError,
    UncertainDeliveryError,
)
from activities.delivery.sendgrid import SendGridProvider
from domain.delivery.providers import SendGridProviderConfig
from tests.fakes.base import Scripted
from tests.fakes.messages import LIST_UNSUBSCRIBE, outbound_email
from tests.fakes.sendgrid import PATH, FakeSendGrid, sendgrid_error
from tests.servers import free_port

API_KEY = "SG.test-key.abcdef"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSendGrid]:
    server = FakeSendGrid(api_key=API_KEY, verified_senders={"example.test"})
    async with server.serve():
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


def _provider(base_url: str, http: httpx.AsyncClient, api_key: str = API_KEY) -> SendGridProvider:
    return SendGridProvider(SendGridProviderConfig(api_key=api_key, base_url=base_url), http)


async def test_sends_json_and_returns_the_x_message_id(fake: FakeSendGrid, http: httpx.AsyncClient) -> None:
    message = outbound_email()
    acceptance = await _provider(fake.base_url, http).send_email(message)

    [sent] = fake.accepted
    assert acceptance.provider == "sendgrid"
    assert acceptance.provider_message_id == sent.message_id
    [request] = fake.received
    assert request.path == PATH
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "personalizations": [{"to": [{"email": "ada@example.org"}]}],
        "from": {"email": "team@example.test", "name": "Team"},
        "subject": "Hello",
        "content": [{"type": "text/plain", "value": "Hi Ada"}, {"type": "text/html", "value": "<p>Hi Ada</p>"}],
        "custom_args": {"message_log_id": message.message_log_id},
        "headers": LIST_UNSUBSCRIBE,
    }


async def test_html_only_and_no_extra_headers(fake: FakeSendGrid, http: httpx.AsyncClient) -> None:
    await _provider(fake.base_url, http).send_email(outbound_email(text=None, headers={}))
    body = fake.accepted[0].body
    assert body["content"] == [{"type": "text/html", "value": "<p>Hi Ada</p>"}]
    assert "headers" not in body


async def test_an_email_without_body_is_refused_before_any_call(fake: FakeSendGrid, http: httpx.AsyncClient) -> None:
    with pytest.raises(PermanentDeliveryError):
        await _provider(fake.base_url, http).send_email(outbound_email(text=None, html=None))
    assert fake.received == []


async def test_wrong_api_key_is_a_configuration_error(fake: FakeSendGrid, http: httpx.AsyncClient) -> None:
    with pytest.raises(ProviderConfigurationError) as caught:
        await _provider(fake.base_url, http, api_key="SG.revoked").send_email(outbound_email())
    assert "authorization grant is invalid" in str(caught.value)
    assert fake.accepted == []


async def test_unverified_sender_is_a_configuration_error(fake: FakeSendGrid, http: httpx.AsyncClient) -> None:
    with pytest.raises(ProviderConfigurationError) as caught:
        await _provider(fake.base_url, http).send_email(outbound_email(sender="x@elsewhere.test"))
    assert "verified Sender Identity" in str(caught.value)


async def test_invalid_recipient_is_permanent_with_the_field(fake: FakeSendGrid, http: httpx.AsyncClient) -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        await _provider(fake.base_url, http).send_email(outbound_email(to="not-an-address"))
    assert caught.value.code == "personalizations.0.to.0.email"
    assert "valid address" in str(caught.value)


async def test_a_reserved_header_is_permanent(fake: FakeSendGrid, http: httpx.AsyncClient) -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        await _provider(fake.base_url, http).send_email(outbound_email(headers={"X-SG-ID": "forged"}))
    assert caught.value.code == "headers"


@pytest.mark.parametrize(
    ("scripted", "kind", "retry_after"),
    [
        pytest.param(
            sendgrid_error(400, "Does not contain a valid address.", "personalizations.0.to.0.email"),
            PermanentDeliveryError,
            None,
            id="400-invalid-recipient",
        ),
        pytest.param(sendgrid_error(401, "Maximum credits exceeded"), ProviderConfigurationError, None, id="401"),
        pytest.param(sendgrid_error(403, "access forbidden"), ProviderConfigurationError, None, id="403"),
        pytest.param(sendgrid_error(413, "Payload too large"), PermanentDeliveryError, None, id="413"),
        pytest.param(
            sendgrid_error(429, "too many requests", headers={"Retry-After": "12"}),
            TransientDeliveryError,
            12.0,
            id="429-retry-after",
        ),
        pytest.param(sendgrid_error(500, "internal error"), TransientDeliveryError, None, id="500"),
        pytest.param(Scripted(503, "Service Unavailable"), TransientDeliveryError, None, id="503-text"),
    ],
)
async def test_error_classes(
    fake: FakeSendGrid,
    http: httpx.AsyncClient,
    scripted: Scripted,
    kind: type[DeliveryError],
    retry_after: float | None,
) -> None:
    fake.script(scripted)
    with pytest.raises(kind) as caught:
        await _provider(fake.base_url, http).send_email(outbound_email())
    assert type(caught.value) is kind
    if isinstance(caught.value, TransientDeliveryError):
        assert caught.value.retry_after == retry_after


async def test_rate_limit_reset_is_the_retry_hint_without_retry_after(
    fake: FakeSendGrid, http: httpx.AsyncClient
) -> None:
    reset = int(time.time()) + 30
    fake.script(sendgrid_error(429, "too many requests", headers={"X-RateLimit-Reset": str(reset)}))
    with pytest.raises(TransientDeliveryError) as caught:
        await _provider(fake.base_url, http).send_email(outbound_email())
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 30


async def test_an_accepted_answer_without_message_id_is_never_retried(
    fake: FakeSendGrid, http: httpx.AsyncClient
) -> None:
    fake.script(Scripted(202))
    with pytest.raises(UncertainDeliveryError) as caught:
        await _provider(fake.base_url, http).send_email(outbound_email())
    assert caught.value.code == "unreadable_acceptance"


async def test_no_answer_before_the_client_timeout_is_uncertain(fake: FakeSendGrid) -> None:
    fake.script(Scripted(hang=True))
    async with httpx.AsyncClient(timeout=0.3) as impatient:
        with pytest.raises(UncertainDeliveryError) as caught:
            await _provider(fake.base_url, impatient).send_email(outbound_email())
    assert caught.value.code == "timeout_after_request"


async def test_connection_refused_is_transient(http: httpx.AsyncClient) -> None:
    with pytest.raises(TransientDeliveryError):
        await _provider(f"http://127.0.0.1:{free_port()}", http).send_email(outbound_email())
