"""FcmProvider and the service-account token cache against fakes of Google's token endpoint and FCM HTTP v1,
served by uvicorn on loopback."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from activities.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    ProviderConfigurationError,
    TransientDeliveryError,
)
from activities.delivery.fcm import FCM_SCOPE, FcmProvider
from activities.delivery.google_auth import ServiceAccountTokens
from domain.delivery.outbound import OutboundPush
from domain.delivery.providers import FcmProviderConfig
from tests.fakes.fcm import FakeFcm, FakeServiceAccount
from tests.servers import free_port, serve_api

PROJECT = "mauntic-test"
EMAIL = "push@mauntic-test.iam.gserviceaccount.com"
REFRESH_MARGIN = 300.0


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str

    @classmethod
    def generate(cls) -> KeyPair:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(
            private_pem=key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode(),
            public_pem=key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode(),
        )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def keys() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture(scope="module")
def other_keys() -> KeyPair:
    return KeyPair.generate()


@dataclass
class Fcm:
    fake: FakeFcm
    base_url: str
    http: httpx.AsyncClient
    tokens: ServiceAccountTokens
    clock: FakeClock
    keys: KeyPair

    def provider(self, name: str = "fcm", **overrides: Any) -> FcmProvider:
        raw = {
            "project_id": PROJECT,
            "client_email": EMAIL,
            "private_key": self.keys.private_pem,
            "private_key_id": "key-1",
            "token_uri": f"{self.base_url}/token",
            "base_url": self.base_url,
        }
        return FcmProvider(FcmProviderConfig.model_validate({**raw, **overrides}), self.http, self.tokens, name=name)


@pytest.fixture
async def fcm(keys: KeyPair) -> AsyncIterator[Fcm]:
    clock = FakeClock()
    fake = FakeFcm(clock=clock)
    fake.add_account(FakeServiceAccount(EMAIL, keys.public_pem, PROJECT, private_key_id="key-1"))
    async with serve_api(fake.app()) as base_url, httpx.AsyncClient(timeout=10) as http:
        tokens = ServiceAccountTokens(http, refresh_margin_seconds=REFRESH_MARGIN, clock=clock)
        yield Fcm(fake, base_url, http, tokens, clock, keys)


def _push(token: str = "device-token-1", **fields: Any) -> OutboundPush:
    values = {"title": "Hello", "body": "Your order shipped", "data": {"order": "42"}, **fields}
    return OutboundPush(idempotency_key="k1", message_log_id="msg_1", token=token, **values)


async def test_sends_a_v1_message_with_a_service_account_token(fcm: Fcm) -> None:
    acceptance = await fcm.provider(name="fcm-main").send_push(_push())

    assert fcm.fake.sends == [
        {
            "account": EMAIL,
            "message": {
                "token": "device-token-1",
                "notification": {"title": "Hello", "body": "Your order shipped"},
                "data": {"order": "42"},
            },
        }
    ]
    assert acceptance.provider == "fcm-main"
    assert re.fullmatch(rf"projects/{PROJECT}/messages/0:1%[0-9a-f]{{16}}", acceptance.provider_message_id)
    [assertion] = fcm.fake.assertions
    assert assertion["header"]["alg"] == "RS256"
    assert assertion["header"]["kid"] == "key-1"
    claims = assertion["claims"]
    assert claims["iss"] == EMAIL
    assert claims["aud"] == f"{fcm.base_url}/token"
    assert claims["scope"] == FCM_SCOPE
    assert claims["iat"] == int(fcm.clock.now)
    assert claims["exp"] - claims["iat"] == 3600


async def test_data_only_message_has_no_notification(fcm: Fcm) -> None:
    await fcm.provider().send_push(_push(title=None, body=None, data={"silent": "1"}))
    assert fcm.fake.sends[0]["message"] == {"token": "device-token-1", "data": {"silent": "1"}}


async def test_token_is_reused_until_shortly_before_it_expires(fcm: Fcm) -> None:
    provider = fcm.provider()
    for _ in range(3):
        await provider.send_push(_push())
    assert fcm.fake.token_requests == 1

    fcm.clock.advance(fcm.fake.expires_in - REFRESH_MARGIN - 1)
    await provider.send_push(_push())
    assert fcm.fake.token_requests == 1

    fcm.clock.advance(2)
    await provider.send_push(_push())
    assert fcm.fake.token_requests == 2
    assert len(fcm.fake.sends) == 5


async def test_short_lived_tokens_are_refreshed_at_half_their_life(fcm: Fcm) -> None:
    fcm.fake.expires_in = 120
    provider = fcm.provider()
    await provider.send_push(_push())
    fcm.clock.advance(59)
    await provider.send_push(_push())
    assert fcm.fake.token_requests == 1
    fcm.clock.advance(1)
    await provider.send_push(_push())
    assert fcm.fake.token_requests == 2


async def test_concurrent_sends_share_one_token_fetch(fcm: Fcm) -> None:
    provider = fcm.provider()
    await asyncio.gather(*(provider.send_push(_push(f"device-{i}")) for i in range(5)))
    assert fcm.fake.token_requests == 1
    assert len(fcm.fake.sends) == 5


async def test_tokens_are_cached_per_service_account(fcm: Fcm, other_keys: KeyPair) -> None:
    other_email = "push@other-project.iam.gserviceaccount.com"
    fcm.fake.add_account(FakeServiceAccount(other_email, other_keys.public_pem, "other-project"))
    first, same_account = fcm.provider(), fcm.provider(name="fcm-2")
    other = fcm.provider(
        project_id="other-project", client_email=other_email, private_key=other_keys.private_pem, private_key_id=None
    )
    for provider in (first, same_account, other, first, other):
        await provider.send_push(_push())
    assert fcm.fake.token_requests == 2
    assert [send["account"] for send in fcm.fake.sends] == [EMAIL, EMAIL, other_email, EMAIL, other_email]


async def test_refused_token_is_refreshed_once(fcm: Fcm) -> None:
    provider = fcm.provider()
    await provider.send_push(_push())
    fcm.fake.revoke_tokens()

    await provider.send_push(_push())

    assert fcm.fake.token_requests == 2
    assert fcm.fake.send_requests == 3
    assert len(fcm.fake.sends) == 2


async def test_token_refused_again_after_refresh_is_a_configuration_error(fcm: Fcm) -> None:
    provider = fcm.provider()
    await provider.send_push(_push())
    fcm.fake.revoke_tokens()
    fcm.fake.fail_next_send("UNAUTHENTICATED")

    with pytest.raises(ProviderConfigurationError) as caught:
        await provider.send_push(_push())

    assert caught.value.code == "fcm:UNAUTHENTICATED"
    assert fcm.fake.token_requests == 2
    assert fcm.fake.send_requests == 3


@pytest.mark.parametrize(
    ("marking", "token", "error", "code"),
    [
        ("unregistered_tokens", "stale-device", PermanentDeliveryError, "fcm:UNREGISTERED"),
        ("foreign_tokens", "someone-elses-device", PermanentDeliveryError, "fcm:SENDER_ID_MISMATCH"),
        (None, "not a token", PermanentDeliveryError, "fcm:INVALID_ARGUMENT"),
        ("third_party_failing_tokens", "ios-device", ProviderConfigurationError, "fcm:THIRD_PARTY_AUTH_ERROR"),
    ],
)
async def test_device_errors(fcm: Fcm, marking: str | None, token: str, error: type[DeliveryError], code: str) -> None:
    if marking is not None:
        getattr(fcm.fake, marking).add(token)
    with pytest.raises(error) as caught:
        await fcm.provider().send_push(_push(token))
    assert type(caught.value) is error
    assert caught.value.code == code
    assert fcm.fake.sends == []
    assert fcm.fake.token_requests == 1  # a third-party 401 does not refresh our token
    assert fcm.fake.send_requests == 1


@pytest.mark.parametrize(
    ("status", "error_code", "retry_after", "expected_retry"),
    [
        ("UNAVAILABLE", "UNAVAILABLE", "10", 10.0),
        ("INTERNAL", "INTERNAL", None, None),
        ("RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "60", 60.0),
        ("UNAVAILABLE", None, None, None),
    ],
)
async def test_transient_errors_carry_retry_after(
    fcm: Fcm, status: str, error_code: str | None, retry_after: str | None, expected_retry: float | None
) -> None:
    fcm.fake.fail_next_send(status, error_code, retry_after=retry_after)
    with pytest.raises(TransientDeliveryError) as caught:
        await fcm.provider().send_push(_push())
    assert caught.value.code == f"fcm:{error_code or status}"
    assert caught.value.retry_after == expected_retry


async def test_permission_denied_is_a_configuration_error(fcm: Fcm) -> None:
    with pytest.raises(ProviderConfigurationError) as caught:
        await fcm.provider(project_id="someone-elses").send_push(_push())
    assert caught.value.code == "fcm:PERMISSION_DENIED"
    assert "cloudmessaging.messages.create" in str(caught.value)


async def test_key_not_matching_the_account_is_a_configuration_error(fcm: Fcm, other_keys: KeyPair) -> None:
    with pytest.raises(ProviderConfigurationError) as caught:
        await fcm.provider(private_key=other_keys.private_pem).send_push(_push())
    assert caught.value.code == "google_oauth:invalid_grant"
    assert "Invalid JWT Signature" in str(caught.value)
    assert fcm.fake.send_requests == 0


async def test_wrong_token_uri_audience_is_a_configuration_error(fcm: Fcm) -> None:
    with pytest.raises(ProviderConfigurationError) as caught:
        await fcm.provider(token_uri=f"{fcm.base_url}/token?x=1").send_push(_push())
    assert "audience" in str(caught.value)


async def test_unreadable_private_key_is_a_configuration_error(fcm: Fcm) -> None:
    broken = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"
    with pytest.raises(ProviderConfigurationError) as caught:
        await fcm.provider(private_key=broken).send_push(_push())
    assert caught.value.code == "google_oauth:key"
    assert fcm.fake.token_requests == 0


async def test_escaped_newlines_in_the_key_are_accepted(fcm: Fcm) -> None:
    await fcm.provider(private_key=fcm.keys.private_pem.replace("\n", "\\n")).send_push(_push())
    assert len(fcm.fake.sends) == 1


async def test_token_endpoint_outage_is_transient(fcm: Fcm) -> None:
    fcm.fake.fail_next_token(503, "backend_error", "try later", retry_after="5")
    with pytest.raises(TransientDeliveryError) as caught:
        await fcm.provider().send_push(_push())
    assert caught.value.retry_after == 5.0
    await fcm.provider().send_push(_push())  # nothing bad was cached
    assert fcm.fake.token_requests == 2


async def test_unreachable_fcm_is_transient(fcm: Fcm) -> None:
    with pytest.raises(TransientDeliveryError) as caught:
        await fcm.provider(base_url=f"http://127.0.0.1:{free_port()}").send_push(_push())
    assert caught.value.code == "fcm:connection"
