"""SES adapter contract against the SES v2 fake (which re-derives the SigV4 signature itself)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from activities.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    ProviderConfigurationError,
    TransientDeliveryError,
    UncertainDeliveryError,
)
from activities.delivery.ses import SesProvider
from activities.delivery.sigv4 import AwsCredentials, sign
from domain.delivery.providers import SesProviderConfig
from tests.fakes.base import Scripted
from tests.fakes.messages import outbound_email
from tests.fakes.ses import PATH, AwsKey, FakeSes, ses_error
from tests.servers import free_port

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN"


def _config(endpoint_url: str, **overrides: object) -> SesProviderConfig:
    fields: dict[str, object] = {
        "region": "eu-west-1",
        "access_key_id": ACCESS_KEY,
        "secret_access_key": SECRET,
        "endpoint_url": endpoint_url,
        **overrides,
    }
    return SesProviderConfig.model_validate(fields)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSes]:
    server = FakeSes(
        keys={ACCESS_KEY: AwsKey(SECRET), "ASIAEXAMPLETEMPORARY": AwsKey(SECRET, TOKEN)},
        region="eu-west-1",
        verified_identities={"example.test"},
        configuration_sets={"marketing"},
    )
    async with server.serve():
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


async def test_sends_the_raw_message_and_returns_the_message_id(fake: FakeSes, http: httpx.AsyncClient) -> None:
    message = outbound_email()
    provider = SesProvider(_config(fake.base_url, configuration_set_name="marketing"), http)

    acceptance = await provider.send_email(message)

    [sent] = fake.accepted
    assert acceptance.provider == "ses"
    assert acceptance.provider_message_id == sent.message_id
    assert sent.raw == message.raw  # byte for byte: a DKIM signature in it survives
    assert sent.from_address == "team@example.test"
    assert sent.to == ["ada@example.org"]
    assert sent.tags == {"message_log_id": message.message_log_id}
    assert sent.configuration_set == "marketing"
    [request] = fake.received
    assert request.path == PATH
    body = request.json()
    assert set(body) == {"FromEmailAddress", "Destination", "Content", "EmailTags", "ConfigurationSetName"}
    assert base64.b64decode(body["Content"]["Raw"]["Data"]) == message.raw
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{request.headers['x-amz-date'][:8]}/eu-west-1/ses/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, Signature="
    )


async def test_without_a_configuration_set_none_is_sent(fake: FakeSes, http: httpx.AsyncClient) -> None:
    await SesProvider(_config(fake.base_url), http, name="ses-eu").send_email(outbound_email())
    assert "ConfigurationSetName" not in fake.received[0].json()
    assert fake.accepted[0].configuration_set is None


async def test_temporary_credentials_sign_the_session_token(fake: FakeSes, http: httpx.AsyncClient) -> None:
    config = _config(fake.base_url, access_key_id="ASIAEXAMPLETEMPORARY", session_token=TOKEN)
    acceptance = await SesProvider(config, http, name="ses-temp").send_email(outbound_email())
    assert acceptance.provider == "ses-temp"
    assert fake.received[0].headers["x-amz-security-token"] == TOKEN
    signed_headers = fake.received[0].headers["authorization"].split("SignedHeaders=")[1].split(",")[0]
    assert signed_headers.split(";") == ["content-type", "host", "x-amz-date", "x-amz-security-token"]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        pytest.param({"secret_access_key": "not-the-secret"}, "InvalidSignatureException", id="wrong-secret"),
        pytest.param({"access_key_id": "AKIAUNKNOWNKEY000000"}, "UnrecognizedClientException", id="unknown-key"),
        pytest.param({"region": "us-east-1"}, "InvalidSignatureException", id="wrong-region-scope"),
        pytest.param(
            {"access_key_id": "ASIAEXAMPLETEMPORARY", "session_token": "stale"},
            "UnrecognizedClientException",
            id="wrong-session-token",
        ),
        pytest.param({"configuration_set_name": "missing"}, "NotFoundException", id="unknown-configuration-set"),
    ],
)
async def test_rejected_configuration_is_a_configuration_error(
    fake: FakeSes, http: httpx.AsyncClient, overrides: dict[str, object], code: str
) -> None:
    with pytest.raises(ProviderConfigurationError) as caught:
        await SesProvider(_config(fake.base_url, **overrides), http).send_email(outbound_email())
    assert caught.value.code == code
    assert fake.accepted == []


async def test_the_fake_checks_the_signature_over_the_body_as_sent(fake: FakeSes, http: httpx.AsyncClient) -> None:
    body = b'{"Content": {"Raw": {"Data": "RnJvbTogdGVhbUBleGFtcGxlLnRlc3QNCg0KSGk="}}}'
    url = fake.base_url + PATH
    host = url.split("/")[2]
    signed = sign(
        method="POST",
        url=url,
        headers={"Host": host, "Content-Type": "application/json"},
        body=body,
        credentials=AwsCredentials(ACCESS_KEY, SECRET),
        region="eu-west-1",
        service="ses",
        now=datetime.now(UTC),
    )
    headers = {"Content-Type": "application/json", **signed.headers}
    tampered = await http.post(url, content=body.replace(b"RnJv", b"RnJw"), headers=headers)
    assert tampered.status_code == 403
    assert tampered.headers["x-amzn-errortype"].startswith("InvalidSignatureException:")
    genuine = await http.post(url, content=body, headers=headers)
    assert genuine.status_code == 200, genuine.text


async def test_the_fake_refuses_a_stale_signature(fake: FakeSes, http: httpx.AsyncClient) -> None:
    url = fake.base_url + PATH
    signed = sign(
        method="POST",
        url=url,
        headers={"Host": url.split("/")[2]},
        body=b"{}",
        credentials=AwsCredentials(ACCESS_KEY, SECRET),
        region="eu-west-1",
        service="ses",
        now=datetime.now(UTC) - timedelta(minutes=20),
    )
    response = await http.post(url, content=b"{}", headers=signed.headers)
    assert response.status_code == 403
    assert "expired" in response.json()["message"]


async def test_an_unverified_sender_is_this_accounts_configuration(fake: FakeSes, http: httpx.AsyncClient) -> None:
    message = outbound_email(sender="Someone <someone@unverified.test>")
    with pytest.raises(ProviderConfigurationError) as caught:
        await SesProvider(_config(fake.base_url), http).send_email(message)
    assert caught.value.code == "MessageRejected"
    assert "not verified" in str(caught.value)


async def test_a_tag_value_ses_cannot_take_is_permanent(fake: FakeSes, http: httpx.AsyncClient) -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        await SesProvider(_config(fake.base_url), http).send_email(outbound_email(message_log_id="msg 1/2"))
    assert caught.value.code == "BadRequestException"


@pytest.mark.parametrize(
    ("status", "error_type", "kind", "retry_after"),
    [
        (400, "MessageRejected", PermanentDeliveryError, None),
        (400, "BadRequestException", PermanentDeliveryError, None),
        (400, "MailFromDomainNotVerifiedException", ProviderConfigurationError, None),
        (400, "AccountSuspendedException", ProviderConfigurationError, None),
        (400, "SendingPausedException", ProviderConfigurationError, None),
        (400, "LimitExceededException", TransientDeliveryError, None),
        (429, "TooManyRequestsException", TransientDeliveryError, "7"),
        (500, "InternalFailure", TransientDeliveryError, None),
        (503, "ServiceUnavailable", TransientDeliveryError, "30"),
    ],
    ids=lambda value: value if isinstance(value, str) and not value.isdigit() else None,
)
async def test_documented_errors(
    fake: FakeSes,
    http: httpx.AsyncClient,
    status: int,
    error_type: str,
    kind: type[DeliveryError],
    retry_after: str | None,
) -> None:
    fake.script(ses_error(status, error_type, "scripted", {"Retry-After": retry_after} if retry_after else None))
    with pytest.raises(kind) as caught:
        await SesProvider(_config(fake.base_url), http).send_email(outbound_email())
    assert type(caught.value) is kind
    assert caught.value.code == error_type
    if isinstance(caught.value, TransientDeliveryError):
        assert caught.value.retry_after == (float(retry_after) if retry_after else None)


async def test_retry_after_as_an_http_date(fake: FakeSes, http: httpx.AsyncClient) -> None:
    in_two_minutes = format_datetime(datetime.now(UTC) + timedelta(minutes=2), usegmt=True)
    fake.script(ses_error(503, "ServiceUnavailable", "later", {"Retry-After": in_two_minutes}))
    with pytest.raises(TransientDeliveryError) as caught:
        await SesProvider(_config(fake.base_url), http).send_email(outbound_email())
    assert caught.value.retry_after is not None
    assert 60 < caught.value.retry_after <= 120


async def test_a_proxy_error_page_is_transient(fake: FakeSes, http: httpx.AsyncClient) -> None:
    fake.script(Scripted(502, "<html>Bad Gateway</html>"))
    with pytest.raises(TransientDeliveryError) as caught:
        await SesProvider(_config(fake.base_url), http).send_email(outbound_email())
    assert caught.value.code == "http_502"


async def test_an_answer_without_message_id_is_never_retried(fake: FakeSes, http: httpx.AsyncClient) -> None:
    fake.script(Scripted(200, {"Unexpected": True}))
    with pytest.raises(UncertainDeliveryError) as caught:
        await SesProvider(_config(fake.base_url), http).send_email(outbound_email())
    assert caught.value.code == "unreadable_acceptance"


async def test_no_answer_before_the_client_timeout_is_uncertain(fake: FakeSes) -> None:
    fake.script(Scripted(hang=True))
    async with httpx.AsyncClient(timeout=0.3) as impatient:
        with pytest.raises(UncertainDeliveryError) as caught:
            await SesProvider(_config(fake.base_url), impatient).send_email(outbound_email())
    assert caught.value.code == "timeout_after_request"


async def test_connection_refused_is_transient(http: httpx.AsyncClient) -> None:
    with pytest.raises(TransientDeliveryError) as caught:
        await SesProvider(_config(f"http://127.0.0.1:{free_port()}"), http).send_email(outbound_email())
    assert caught.value.code == "connection"


async def test_default_endpoint_is_the_regional_one() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"MessageId": "m-1"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        config = SesProviderConfig(region="ap-southeast-2", access_key_id=ACCESS_KEY, secret_access_key=SECRET)
        acceptance = await SesProvider(config, http).send_email(outbound_email())
    assert acceptance.provider_message_id == "m-1"
    assert str(seen[0].url) == "https://email.ap-southeast-2.amazonaws.com/v2/email/outbound-emails"
    assert seen[0].headers["host"] == "email.ap-southeast-2.amazonaws.com"
