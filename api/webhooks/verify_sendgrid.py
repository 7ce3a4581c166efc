"""SendGrid's signed Event Webhook: ECDSA P-256 / SHA-256 over `timestamp + raw body`.

Headers X-Twilio-Email-Event-Webhook-Signature (base64 DER signature) and -Timestamp (Unix seconds). The public
key is the provider's `webhook_verification_key` (base64 DER SubjectPublicKeyInfo, as SendGrid shows it, or PEM).
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from api.webhooks.errors import check_fresh, invalid_signature, missing_signature, not_configured, parse_timestamp

SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature"
TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp"


@lru_cache(maxsize=64)
def public_key(text: str) -> ec.EllipticCurvePublicKey:
    """The verification key; ValueError when it is not an EC P-256 public key."""
    text = text.strip()
    try:
        key = (
            load_pem_public_key(text.encode())
            if text.startswith("-----BEGIN")
            else load_der_public_key(base64.b64decode(text, validate=True))
        )
    except (ValueError, binascii.Error, UnsupportedAlgorithm) as exc:
        raise ValueError("not a base64 DER or PEM public key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("not an ECDSA P-256 public key")
    return key


def signature_matches(key: ec.EllipticCurvePublicKey, timestamp: str, body: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key.verify(signature, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def verify_sendgrid(
    verification_key: str | None, signature: str | None, timestamp: str | None, body: bytes, now: float
) -> None:
    """Raise unless the body is signed by the key, at a fresh timestamp."""
    if not verification_key:
        raise not_configured("set the provider's webhook_verification_key (SendGrid's signed Event Webhook)")
    if not signature or not timestamp:
        raise missing_signature(f"send {SIGNATURE_HEADER} and {TIMESTAMP_HEADER}")
    try:
        key = public_key(verification_key)
    except ValueError as exc:
        raise not_configured(f"webhook_verification_key: {exc}") from None
    if not signature_matches(key, timestamp, body, signature):
        raise invalid_signature()
    check_fresh(parse_timestamp(timestamp), now)
