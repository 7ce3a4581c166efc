"""Mailgun adapter contract against the messages.mime fake."""

from __future__ import annotations

import base64
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
from activities.delivery.mailgun import MailgunProvider
from domain.delivery.providers import MailgunProviderConfig
from tests.fakes.base import Scripted
from tests.fakes.mailgun import FakeMailgun, mailgun_error
from tests.fakes.messages import outbound_email
from tests.servers import free_port

API_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
DOMAIN = "mg.example.test"


@pytest.fixture
async def fake() -> AsyncIterator[FakeMailgun]:
    server = FakeMailgun(api_key=API_KEY, domains={DOMAIN})
    async with server.serve():
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


def _provider(base_url: str | None, http: httpx.AsyncClient, **overrides: str) -> MailgunProvider:
    fields = {"domain": DOMAIN, "api_key": API_KEY, "base_url": base_url, **overrides}
    return MailgunProvider(MailgunProviderConfig.model_validate(fields), http)


async def test_posts_the_raw_mime_and_strips_the_id(fake: FakeMailgun, http: httpx.AsyncClient) -> None:
    message = outbound_email()
    acceptance = await _provider(fake.base_url, http).send_email(message)

    [sent] = fake.accepted
    assert acceptance.provider == "mailgun"
    assert acceptance.provider_message_id == sent.message_id  # the fake answered "<id>"
    assert not acceptance.provider_message_id.startswith("<")
    assert sent.mime == message.raw  # byte for byte: a DKIM signature in it survives
    assert sent.to == ["ada@example.org"]
    assert sent.variables == {"message_log_id": message.message_log_id}
    [request] = fake.received
    assert request.path == f"/v3/{DOMAIN}/messages.mime"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert request.headers["authorization"] == "Basic " + base64.b64encode(f"api:{API_KEY}".encode()).decode()


@pytest.mark.parametrize(
    ("overrides", "kwargs", "kind"),
    [
        pytest.param({"api_key": "key-wrong"}, {}, ProviderConfigurationError, id="401-wrong-key"),
        pytest.param({"domain": "other.example.test"}, {}, ProviderConfigurationError, id="404-unknown-domain"),
        pytest.param({}, {"to": "not-an-address"}, PermanentDeliveryError, id="400-invalid-recipient"),
    ],
)
async def test_what_the_fake_refuses(
    fake: FakeMailgun,
    http: httpx.AsyncClient,
    overrides: dict[str, str],
    kwargs: dict[str, str],
    kind: type[DeliveryError],
) -> None:
    with pytest.raises(kind) as caught:
        await _provider(fake.base_url, http, **overrides).send_email(outbound_email(**kwargs))
    assert type(caught.value) is kind
    assert fake.accepted == []


async def test_the_fake_wants_the_message_as_a_file(fake: FakeMailgun, http: httpx.AsyncClient) -> None:
    response = await http.post(
        f"{fake.base_url}/v3/{DOMAIN}/messages.mime",
        data={"to": "ada@example.org", "message": "From: a@example.test\r\n\r\nhi"},
        files={"unrelated": ("x.txt", b"x")},
        auth=("api", API_KEY),
    )
    assert response.status_code == 400
    assert "file upload" in response.json()["message"]


@pytest.mark.parametrize(
    ("scripted", "kind", "retry_after"),
    [
        pytest.param(
            mailgun_error(400, "to parameter is not a valid address. please check documentation"),
            PermanentDeliveryError,
            None,
            id="400",
        ),
        pytest.param(Scripted(401, "Forbidden"), ProviderConfigurationError, None, id="401-text"),
        pytest.param(mailgun_error(403, "Domain is not allowed to send"), ProviderConfigurationError, None, id="403"),
        pytest.param(mailgun_error(404, "Domain not found: x"), ProviderConfigurationError, None, id="404"),
        pytest.param(mailgun_error(413, "request too large"), PermanentDeliveryError, None, id="413"),
        pytest.param(mailgun_error(429, "rate limited", {"Retry-After": "20"}), TransientDeliveryError, 20.0, id="429"),
        pytest.param(mailgun_error(500, "internal"), TransientDeliveryError, None, id="500"),
        pytest.param(
            mailgun_error(503, "busy", {"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"}),
            TransientDeliveryError,
            0.0,
            id="503-date-in-the-past",
        ),
    ],
)
async def test_error_classes(
    fake: FakeMailgun,
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


async def test_an_answer_without_id_is_never_retried(fake: FakeMailgun, http: httpx.AsyncClient) -> None:
    fake.script(Scripted(200, {"message": "Queued. Thank you."}))
    with pytest.raises(UncertainDeliveryError) as caught:
        await _provider(fake.base_url, http).send_email(outbound_email())
    assert caught.value.code == "unreadable_acceptance"


async def test_no_answer_before_the_client_timeout_is_uncertain(fake: FakeMailgun) -> None:
    fake.script(Scripted(hang=True))
    async with httpx.AsyncClient(timeout=0.3) as impatient:
        with pytest.raises(UncertainDeliveryError) as caught:
            await _provider(fake.base_url, impatient).send_email(outbound_email())
    assert caught.value.code == "timeout_after_request"


async def test_connection_refused_is_transient(http: httpx.AsyncClient) -> None:
    with pytest.raises(TransientDeliveryError):
        await _provider(f"http://127.0.0.1:{free_port()}", http).send_email(outbound_email())


@pytest.mark.parametrize(
    ("region", "url"),
    [
        ("us", f"https://api.mailgun.net/v3/{DOMAIN}/messages.mime"),
        ("eu", f"https://api.eu.mailgun.net/v3/{DOMAIN}/messages.mime"),
    ],
)
async def test_default_base_url_follows_the_region(region: str, url: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "<a.b@mg>", "message": "Queued. Thank you."})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        acceptance = await _provider(None, http, region=region).send_email(outbound_email())
    assert acceptance.provider_message_id == "a.b@mg"
    assert str(seen[0].url) == url
