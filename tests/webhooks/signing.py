"""Signing webhook requests the way each provider does, with test keys (never a real provider's)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from api.webhooks.verify_sendgrid import SIGNATURE_HEADER, TIMESTAMP_HEADER
from api.webhooks.verify_sns import canonical_string

SNS_CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-events"


# --- SendGrid -------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def sendgrid_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def sendgrid_public_key(key: ec.EllipticCurvePrivateKey | None = None) -> str:
    public = (key or sendgrid_key()).public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def sendgrid_headers(body: bytes, timestamp: int, key: ec.EllipticCurvePrivateKey | None = None) -> dict[str, str]:
    signature = (key or sendgrid_key()).sign(str(timestamp).encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        SIGNATURE_HEADER: base64.b64encode(signature).decode(),
        TIMESTAMP_HEADER: str(timestamp),
        "content-type": "application/json",
    }


# --- SNS --------------------------------------------------------------------------------------------------------
@dataclass
class SnsSigner:
    """A test CA, an SNS-like signing certificate it issued, and a fetcher that serves it (no network)."""

    key: rsa.RSAPrivateKey
    certificate_pem: bytes
    fetched: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)

    async def certificate(self, url: str) -> bytes:
        self.fetched.append(url)
        if url != SNS_CERT_URL:
            raise ValueError("unknown certificate")
        return self.certificate_pem

    async def confirm_subscription(self, url: str) -> None:
        self.confirmed.append(url)

    def sign(self, message: dict[str, Any], version: str = "1") -> dict[str, Any]:
        signed = {**message, "SignatureVersion": version, "SigningCertURL": SNS_CERT_URL}
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.key.sign(canonical_string(signed), padding.PKCS1v15(), algorithm)
        return {**signed, "Signature": base64.b64encode(signature).decode()}


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@lru_cache(maxsize=1)
def _sns_keys() -> tuple[rsa.RSAPrivateKey, bytes]:
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name("sns.amazonaws.com"))
        .issuer_name(_name("Mauntic Test CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(ca_key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM)


def sns_signer() -> SnsSigner:
    key, pem = _sns_keys()
    return SnsSigner(key, pem)


def sns_notification(message: dict[str, Any], message_id: str, topic: str = TOPIC) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic,
        "Message": json.dumps(message),
        "Timestamp": "2026-11-26T06:00:00.000Z",
    }


def sns_subscription(topic: str = TOPIC) -> dict[str, Any]:
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3",
        "TopicArn": topic,
        "Message": f"You have chosen to subscribe to the topic {topic}.",
        "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=2336412f",
        "Timestamp": "2026-11-26T06:00:00.000Z",
    }


# --- Mailgun ----------------------------------------------------------------------------------------------------
def mailgun_signature(signing_key: str, timestamp: int, token: str) -> dict[str, str]:
    digest = hmac.new(signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": str(timestamp), "token": token, "signature": digest}


def basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
