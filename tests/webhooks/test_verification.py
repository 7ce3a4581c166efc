"""Authenticity checks of each provider, on published vendor vectors and our own keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from api.errors import ApiError
from api.webhooks.verify_mailgun import verify_mailgun
from api.webhooks.verify_postmark import verify_postmark
from api.webhooks.verify_sendgrid import verify_sendgrid
from api.webhooks.verify_sns import sns_url_allowed, verify_sns
from api.webhooks.verify_twilio import twilio_signature, verify_twilio
from tests.servers import free_port, serve_api
from tests.webhooks.signing import (
    SNS_CERT_URL,
    basic,
    mailgun_signature,
    sendgrid_headers,
    sendgrid_public_key,
    sns_notification,
    sns_signer,
    sns_subscription,
)
from tests.webhooks.sns_host import ENDLESS_BYTES, CertificateHost, FetcherAt


def refused(code: str, status: int = 401) -> pytest.RaisesExc[ApiError]:
    return pytest.raises(ApiError, check=lambda e: e.code == code and e.status_code == status)


# --- SendGrid: the known-answer vectors of sendgrid-python (test/unit/test_eventwebhook.py, test/test_eventwebhook.py)
SG_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+"
    "2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
)
SG_SIGNATURE = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
SG_TIMESTAMP = "1600112502"
SG_PAYLOAD = (
    json.dumps(
        [
            {
                "email": "hello@world.com",
                "event": "dropped",
                "reason": "Bounced Address",
                "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
                "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
                "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
                "timestamp": 1600112492,
            }
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
    + "\r\n"
).encode()
SG_OLD_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZ"
    "FceEu/1FwCM/QmGUhA=="
)
SG_OLD_SIGNATURE = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0="
SG_OLD_PAYLOAD = b'{"category":"example_payload","event":"test_event","message_id":"message_id"}'


def test_sendgrid_known_answer_vectors_verify() -> None:
    verify_sendgrid(SG_KEY, SG_SIGNATURE, SG_TIMESTAMP, SG_PAYLOAD, now=1600112502 + 5)
    verify_sendgrid(SG_OLD_KEY, SG_OLD_SIGNATURE, "1588788367", SG_OLD_PAYLOAD, now=1588788367)


@pytest.mark.parametrize(
    ("key", "signature", "timestamp", "payload"),
    [
        (SG_KEY, SG_SIGNATURE, SG_TIMESTAMP, SG_PAYLOAD.replace(b"dropped", b"droppee")),  # tampered body
        (SG_KEY, SG_SIGNATURE, "1600112503", SG_PAYLOAD),  # another timestamp
        (SG_KEY, SG_OLD_SIGNATURE, SG_TIMESTAMP, SG_PAYLOAD),  # another signature
        (SG_OLD_KEY, SG_SIGNATURE, SG_TIMESTAMP, SG_PAYLOAD),  # another key
        (SG_KEY, "not base64!", SG_TIMESTAMP, SG_PAYLOAD),
    ],
)
def test_sendgrid_tampering_is_refused(key: str, signature: str, timestamp: str, payload: bytes) -> None:
    with refused("invalid_signature"):
        verify_sendgrid(key, signature, timestamp, payload, now=float(SG_TIMESTAMP))


def test_sendgrid_stale_and_missing_and_unconfigured() -> None:
    with refused("stale_request"):
        verify_sendgrid(SG_KEY, SG_SIGNATURE, SG_TIMESTAMP, SG_PAYLOAD, now=float(SG_TIMESTAMP) + 601)
    with refused("stale_request"):
        verify_sendgrid(SG_KEY, SG_SIGNATURE, SG_TIMESTAMP, SG_PAYLOAD, now=float(SG_TIMESTAMP) - 601)
    with refused("missing_signature"):
        verify_sendgrid(SG_KEY, None, SG_TIMESTAMP, SG_PAYLOAD, now=float(SG_TIMESTAMP))
    with refused("webhook_not_configured", 403):
        verify_sendgrid(None, SG_SIGNATURE, SG_TIMESTAMP, SG_PAYLOAD, now=float(SG_TIMESTAMP))
    with refused("webhook_not_configured", 403):
        verify_sendgrid("bm90IGEga2V5", SG_SIGNATURE, SG_TIMESTAMP, SG_PAYLOAD, now=float(SG_TIMESTAMP))


def test_sendgrid_own_keys_sign_and_a_foreign_key_does_not() -> None:
    body = b'[{"event":"open","sg_event_id":"e1"}]'
    now = int(time.time())
    headers = sendgrid_headers(body, now)
    signature, timestamp = (
        headers["x-twilio-email-event-webhook-signature"],
        headers["x-twilio-email-event-webhook-timestamp"],
    )
    verify_sendgrid(sendgrid_public_key(), signature, timestamp, body, now=now)
    other = ec.generate_private_key(ec.SECP256R1())
    with refused("invalid_signature"):
        verify_sendgrid(sendgrid_public_key(other), signature, timestamp, body, now=now)


# --- Twilio: the worked example of Twilio's "Webhooks security" guide, and twilio-python's tests/unit vectors
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_DOC_PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+12349013030"),
    ("Digits", "1234"),
    ("From", "+12349013030"),
    ("To", "+18005551212"),
]
TWILIO_LIB_PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
    ("Caller", "+14158675309"),
]


def test_twilio_published_vectors() -> None:
    assert twilio_signature("12345", TWILIO_URL, TWILIO_DOC_PARAMS) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    verify_twilio("12345", TWILIO_URL, list(reversed(TWILIO_DOC_PARAMS)), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    verify_twilio("12345", TWILIO_URL, TWILIO_LIB_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    # Signed over the URL with the default port written out / our URL carries a port Twilio did not sign.
    verify_twilio("12345", TWILIO_URL, TWILIO_LIB_PARAMS, "kvajT1Ptam85bY51eRf/AJRuM3w=")
    verify_twilio("12345", TWILIO_URL.replace(".com", ".com:1234"), TWILIO_LIB_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


def test_twilio_forgeries_are_refused() -> None:
    tampered = [(k, "9999" if k == "Digits" else v) for k, v in TWILIO_DOC_PARAMS]
    for token, url, params in [
        ("12345", TWILIO_URL, tampered),
        ("12345", TWILIO_URL.replace("bar=2", "bar=3"), TWILIO_DOC_PARAMS),
        ("54321", TWILIO_URL, TWILIO_DOC_PARAMS),
        ("12345", TWILIO_URL, [*TWILIO_DOC_PARAMS, ("Extra", "1")]),
    ]:
        with refused("invalid_signature"):
            verify_twilio(token, url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    with refused("missing_signature"):
        verify_twilio("12345", TWILIO_URL, TWILIO_DOC_PARAMS, None)


# --- Mailgun
def test_mailgun_signature_and_freshness() -> None:
    now = 1_700_000_000
    body = {"signature": mailgun_signature("key-1", now, "tok-1"), "event-data": {}}
    token = verify_mailgun("key-1", body, now=now + 30)
    assert (token.token, token.timestamp) == ("tok-1", now)
    with refused("invalid_signature"):
        verify_mailgun("key-2", body, now=now)
    forged = {"signature": {**body["signature"], "token": "tok-2"}}
    with refused("invalid_signature"):
        verify_mailgun("key-1", forged, now=now)
    # Mailgun retries for 8 hours, possibly with the first attempt's signature: accepted that long, not for ever.
    assert verify_mailgun("key-1", body, now=now + 8 * 3600).token == "tok-1"
    with refused("stale_request"):
        verify_mailgun("key-1", body, now=now + 9 * 3600 + 1)
    with refused("stale_request"):
        verify_mailgun("key-1", body, now=now - 601)  # signed ahead of our clock by more than the skew allowed
    with refused("missing_signature"):
        verify_mailgun("key-1", {"event-data": {}}, now=now)
    with refused("webhook_not_configured", 403):
        verify_mailgun(None, body, now=now)


# --- Postmark
def test_postmark_basic_auth() -> None:
    verify_postmark("hook", "s3cret", basic("hook", "s3cret")["authorization"])
    for header in (basic("hook", "wrong")["authorization"], basic("other", "s3cret")["authorization"], "Basic !!"):
        with refused("invalid_signature"):
            verify_postmark("hook", "s3cret", header)
    with refused("missing_signature"):
        verify_postmark("hook", "s3cret", None)
    with refused("webhook_not_configured", 403):
        verify_postmark(None, None, basic("hook", "s3cret")["authorization"])


# --- SNS
@pytest.mark.parametrize("version", ["1", "2"])
async def test_sns_signature_versions_verify(version: str) -> None:
    signer = sns_signer()
    await verify_sns(signer.sign(sns_notification({"notificationType": "Delivery"}, "m-1"), version), signer)
    await verify_sns(signer.sign(sns_subscription(), version), signer)
    assert signer.fetched == [SNS_CERT_URL, SNS_CERT_URL]


async def test_sns_subject_is_signed_when_present() -> None:
    signer = sns_signer()
    message = signer.sign({**sns_notification({"eventType": "Open"}, "m-2"), "Subject": "Amazon SES Email Event"})
    await verify_sns(message, signer)
    with refused("invalid_signature"):
        await verify_sns({**message, "Subject": "Other"}, signer)


async def test_sns_tampering_is_refused() -> None:
    signer = sns_signer()
    signed = signer.sign(sns_notification({"notificationType": "Bounce"}, "m-3"), "2")
    for tampered in (
        {**signed, "Message": signed["Message"].replace("Bounce", "Delivery")},
        {**signed, "TopicArn": "arn:aws:sns:eu-west-1:999999999999:other"},
        {**signed, "SignatureVersion": "1"},  # SHA-256 signature checked as SHA-1
        {**signed, "SignatureVersion": "3"},
        {**signed, "SigningCertURL": "https://sns.eu-west-1.amazonaws.com.evil.test/cert.pem"},
        {**signed, "SigningCertURL": "http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem"},
    ):
        with refused("invalid_signature"):
            await verify_sns(tampered, signer)
    with refused("missing_signature"):
        await verify_sns({k: v for k, v in signed.items() if k != "Signature"}, signer)
    with refused("invalid_signature"):
        await verify_sns(signed, signer, now=datetime.now(UTC) + timedelta(days=60))  # certificate expired


@pytest.mark.parametrize(
    ("url", "certificate", "allowed"),
    [
        (SNS_CERT_URL, True, True),
        ("https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-1.pem", True, True),
        ("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem", True, True),
        ("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.crt", True, False),
        ("https://sns.eu-west-1.amazonaws.com/x.pem", True, False),
        ("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-.pem", True, False),
        ("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-XYZ.pem", True, False),
        ("https://sns.eu-west-1.amazonaws.com/uploads/SimpleNotificationService-1.pem", True, False),
        ("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem/x.pem", True, False),
        ("https://sns.eu-west-1.amazonaws.com:8443/SimpleNotificationService-1.pem", True, False),
        ("https://evil.test@sns.eu-west-1.amazonaws.com/x.pem", True, False),
        ("https://sns.eu-west-1.amazonaws.com.evil.test/x.pem", True, False),
        ("https://s3.amazonaws.com/x.pem", True, False),
        ("http://sns.eu-west-1.amazonaws.com/x.pem", True, False),
        ("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription", False, True),
        ("https://example.test/?Action=ConfirmSubscription", False, False),
        (None, False, False),
    ],
)
def test_sns_urls(url: str | None, certificate: bool, allowed: bool) -> None:
    assert sns_url_allowed(url, certificate=certificate) is allowed


# --- SNS signing certificates fetched by the default fetcher, from a loopback stand-in for AWS
@pytest.fixture
async def certificate_host() -> AsyncIterator[tuple[CertificateHost, str]]:
    host = CertificateHost(sns_signer().certificate_pem)
    async with serve_api(host.app()) as base:
        try:
            yield host, base
        finally:
            host.released.set()


@pytest.mark.parametrize(
    ("path", "code", "status"),
    [
        ("/certificate", None, 200),
        ("/status/503", "certificate_unavailable", 503),  # SNS retries a 5xx: the notification is not lost
        ("/status/500", "certificate_unavailable", 503),
        ("/status/429", "certificate_unavailable", 503),
        ("/status/404", "invalid_signature", 401),  # no such certificate: the message does not verify
        ("/status/302", "invalid_signature", 401),
        ("/large", "invalid_signature", 401),
    ],
)
async def test_sns_certificate_fetch_outcomes(
    certificate_host: tuple[CertificateHost, str], path: str, code: str | None, status: int
) -> None:
    _, base = certificate_host
    message = sns_signer().sign(sns_notification({"notificationType": "Bounce"}, "m-fetch"), "2")
    if code is None:
        await verify_sns(message, FetcherAt(base + path))
        return
    with refused(code, status):
        await verify_sns(message, FetcherAt(base + path))


async def test_sns_certificate_unreachable_or_timing_out_is_unavailable(
    certificate_host: tuple[CertificateHost, str],
) -> None:
    _, base = certificate_host
    message = sns_signer().sign(sns_notification({"notificationType": "Bounce"}, "m-down"), "2")
    with refused("certificate_unavailable", 503):
        await verify_sns(message, FetcherAt(f"http://127.0.0.1:{free_port()}/certificate"))  # nothing listens
    with refused("certificate_unavailable", 503):
        await verify_sns(message, FetcherAt(base + "/hang", timeout=0.2))


async def test_sns_certificate_body_is_not_read_past_the_limit(certificate_host: tuple[CertificateHost, str]) -> None:
    host, base = certificate_host
    message = sns_signer().sign(sns_notification({"notificationType": "Bounce"}, "m-big"), "2")
    with refused("invalid_signature"):
        await verify_sns(message, FetcherAt(base + "/endless"))
    assert host.endless_sent < ENDLESS_BYTES // 4  # the server stopped when we hung up, far from its end


# --- Inputs of the wrong shape: refused as unauthenticated, never an error
def test_non_finite_signed_timestamps_are_refused() -> None:
    """float() reads "nan" and "inf"; a NaN timestamp would pass every freshness check, so a signed request could
    be replayed forever."""
    key = ec.generate_private_key(ec.SECP256R1())
    for timestamp in ("nan", "NaN", " inf ", "-infinity"):
        mac = hmac.new(b"key-1", f"{timestamp}tok-nan".encode(), hashlib.sha256).hexdigest()
        with refused("invalid_signature"):
            verify_mailgun("key-1", {"signature": {"timestamp": timestamp, "token": "tok-nan", "signature": mac}},
                           now=time.time())  # fmt: skip
        signature = base64.b64encode(key.sign(timestamp.encode() + b"[]", ec.ECDSA(hashes.SHA256()))).decode()
        with refused("invalid_signature"):
            verify_sendgrid(sendgrid_public_key(key), signature, timestamp, b"[]", time.time())


def test_postmark_credentials_that_are_not_ascii_are_refused() -> None:
    with refused("invalid_signature"):
        verify_postmark("hook", "s3cret", "Basic ü")  # a header decoded as latin-1


@pytest.mark.parametrize(
    "tampered",
    [{"Type": ["Notification"]}, {"Type": {"a": 1}}, {"Signature": "ü" * 8}, {"Signature": ["AAAA"]}],
)
async def test_sns_envelopes_of_the_wrong_shape_are_refused(tampered: dict[str, Any]) -> None:
    signer = sns_signer()
    message = {**signer.sign(sns_notification({"notificationType": "Delivery"}, "m-4")), **tampered}
    with refused("invalid_signature"):
        await verify_sns(message, signer)
