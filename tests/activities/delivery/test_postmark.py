"""Postmark adapter contract against the /email fake."""

from __future__ import annotations

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
from activities.delivery.postmark import PostmarkProvider
from domain.delivery.providers import PostmarkProviderConfig
from tests.fakes.base import Scripted
from tests.fakes.messages import outbound_email
from tests.fakes.postmark import PATH, FakePostmark, postmark_error
from tests.servers import free_port

TOKEN = "2c7b1e5d-0a3f-4c3e-9d8e-1f2a3b4c5d6e"


@pytest.fixture
async def fake() -> AsyncIterator[FakePostmark]:
    server = FakePostmark(
        server_token=TOKEN,
        sender_signatures={"example.test"},
        inactive_recipients={"bounced@example.org"},
        message_streams={"outbound", "broadcast"},
    )
    async with server.serve():
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


def _provider(base_url: str, http: httpx.AsyncClient, **overrides: str) -> PostmarkProvider:
    config = PostmarkProviderConfig.model_validate({"server_token": TOKEN, "base_url": base_url, **overrides})
    return PostmarkProvider(config, http)


async def test_sends_json_and_returns_the_message_id(fake: FakePostmark, http: httpx.AsyncClient) -> None:
    message = outbound_email()
    acceptance = await _provider(fake.base_url, http, message_stream="broadcast").send_email(message)

    [sent] = fake.accepted
    assert acceptance.provider == "postmark"
    assert acceptance.provider_message_id == sent.message_id
    [request] = fake.received
    assert request.path == PATH
    assert request.headers["x-postmark-server-token"] == TOKEN
    assert request.headers["accept"] == "application/json"
    assert request.json() == {
        "From": "Team <team@example.test>",
        "To": "ada@example.org",
        "Subject": "Hello",
        "HtmlBody": "<p>Hi Ada</p>",
        "TextBody": "Hi Ada",
        "MessageStream": "broadcast",
        "Metadata": {"message_log_id": message.message_log_id},
        "Headers": [
            {"Name": "List-Unsubscribe", "Value": "<https://example.test/u/tok123>"},
            {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
        ],
    }


async def test_text_only_without_headers(fake: FakePostmark, http: httpx.AsyncClient) -> None:
    await _provider(fake.base_url, http).send_email(outbound_email(html=None, headers={}))
    body = fake.accepted[0].body
    assert body["TextBody"] == "Hi Ada"
    assert "HtmlBody" not in body
    assert "Headers" not in body
    assert body["MessageStream"] == "outbound"


@pytest.mark.parametrize(
    ("kwargs", "overrides", "kind", "code"),
    [
        pytest.param({}, {"server_token": "wrong"}, ProviderConfigurationError, "10", id="10-bad-token"),
        pytest.param({"to": "not-an-address"}, {}, PermanentDeliveryError, "300", id="300-invalid-address"),
        pytest.param({"to": "bounced@example.org"}, {}, PermanentDeliveryError, "406", id="406-inactive-recipient"),
        pytest.param(
            {"sender": "x@unsigned.test"}, {}, ProviderConfigurationError, "400", id="400-sender-signature-not-found"
        ),
        pytest.param({}, {"message_stream": "nope"}, ProviderConfigurationError, "1235", id="1235-unknown-stream"),
    ],
)
async def test_what_the_fake_refuses(
    fake: FakePostmark,
    http: httpx.AsyncClient,
    kwargs: dict[str, str],
    overrides: dict[str, str],
    kind: type[DeliveryError],
    code: str,
) -> None:
    with pytest.raises(kind) as caught:
        await _provider(fake.base_url, http, **overrides).send_email(outbound_email(**kwargs))
    assert type(caught.value) is kind
    assert caught.value.code == code
    assert fake.accepted == []


async def test_an_email_without_body_is_refused_before_any_call(fake: FakePostmark, http: httpx.AsyncClient) -> None:
    with pytest.raises(PermanentDeliveryError):
        await _provider(fake.base_url, http).send_email(outbound_email(text=None, html=None))
    assert fake.received == []


@pytest.mark.parametrize(
    ("scripted", "kind", "retry_after"),
    [
        pytest.param(postmark_error(422, 300, "Invalid 'To' address"), PermanentDeliveryError, None, id="422-300"),
        pytest.param(
            postmark_error(422, 401, "Sender signature not confirmed"), ProviderConfigurationError, None, id="422-401"
        ),
        pytest.param(postmark_error(422, 405, "Not allowed to send"), ProviderConfigurationError, None, id="422-405"),
        pytest.param(postmark_error(422, 412, "Account is pending"), ProviderConfigurationError, None, id="422-412"),
        pytest.param(postmark_error(422, 411, "Forbidden attachment type"), PermanentDeliveryError, None, id="422-411"),
        pytest.param(
            postmark_error(401, 10, "Bad or missing API token"), ProviderConfigurationError, None, id="401-10"
        ),
        pytest.param(
            postmark_error(429, 429, "Rate limit exceeded", {"Retry-After": "3"}), TransientDeliveryError, 3.0, id="429"
        ),
        pytest.param(postmark_error(500, 0, "Internal server error"), TransientDeliveryError, None, id="500"),
        pytest.param(Scripted(503, "<html>maintenance</html>"), TransientDeliveryError, None, id="503-html"),
        pytest.param(postmark_error(200, 406, "Inactive recipient"), PermanentDeliveryError, None, id="200-with-406"),
    ],
)
async def test_error_classes(
    fake: FakePostmark,
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


async def test_an_answer_without_message_id_is_never_retried(fake: FakePostmark, http: httpx.AsyncClient) -> None:
    fake.script(Scripted(200, {"ErrorCode": 0, "Message": "OK"}))
    with pytest.raises(UncertainDeliveryError) as caught:
        await _provider(fake.base_url, http).send_email(outbound_email())
    assert caught.value.code == "unreadable_acceptance"


async def test_no_answer_before_the_client_timeout_is_uncertain(fake: FakePostmark) -> None:
    fake.script(Scripted(hang=True))
    async with httpx.AsyncClient(timeout=0.3) as impatient:
        with pytest.raises(UncertainDeliveryError) as caught:
            await _provider(fake.base_url, impatient).send_email(outbound_email())
    assert caught.value.code == "timeout_after_request"


async def test_connection_refused_is_transient(http: httpx.AsyncClient) -> None:
    with pytest.raises(TransientDeliveryError):
        await _provider(f"http://127.0.0.1:{free_port()}", http).send_email(outbound_email())
