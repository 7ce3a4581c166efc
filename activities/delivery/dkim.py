"""DKIM signing of outgoing mail (RFC 6376) with dkimpy: rsa-sha256, relaxed/relaxed.

The signed header list covers the identity and content headers and both RFC 8058 headers (§4 requires that
List-Unsubscribe and List-Unsubscribe-Post be covered). Headers that forgers like to add a second copy of are
over-signed: named once more than they occur, so a prepended copy breaks the signature. A header named but absent
is signed as absent, which is what we want for mail without unsubscribe headers too.

Date and Message-ID are left out: Amazon SES replaces both on raw messages and its manual-signing guide says not
to sign them, and one signature serves whichever provider of the chain ends up sending.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache

import dkim  # type: ignore[import-untyped,unused-ignore]
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SIGNED_HEADERS: tuple[str, ...] = (
    "from",
    "to",
    "cc",
    "reply-to",
    "subject",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "list-unsubscribe",
    "list-unsubscribe-post",
)
OVERSIGNED_HEADERS: tuple[str, ...] = ("from", "subject", "list-unsubscribe", "list-unsubscribe-post")


class DkimKeyError(ValueError):
    """The stored private key is not a usable RSA key (our configuration is wrong, not the message)."""


@dataclass(frozen=True)
class DkimKey:
    domain: str  # d=, the sending domain
    selector: str  # s=
    private_key_pem: bytes  # PKCS#1 or PKCS#8 PEM, unencrypted


@lru_cache(maxsize=256)
def _pkcs1_pem(private_key_pem: bytes) -> bytes:
    """dkimpy reads only PKCS#1 (`BEGIN RSA PRIVATE KEY`); accept PKCS#8 too by re-encoding. Cached: a domain's
    key is converted once, not on every message it signs."""
    try:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise DkimKeyError(f"the DKIM private key does not load: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise DkimKeyError("the DKIM private key is not an RSA key")
    if key.key_size < 1024:
        raise DkimKeyError(f"the DKIM key has {key.key_size} bits; verifiers refuse keys under 1024")
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


def sign_message(raw: bytes, key: DkimKey) -> bytes:
    """The message with a DKIM-Signature header prepended. `raw` is a complete RFC 5322 message (CRLF line ends,
    as domain.delivery.email.email_bytes produces); it must be sent exactly as returned."""
    try:
        signature: bytes = dkim.sign(
            raw,
            key.selector.encode("ascii"),
            key.domain.encode("idna"),
            _pkcs1_pem(key.private_key_pem),
            canonicalize=(b"relaxed", b"relaxed"),
            signature_algorithm=b"rsa-sha256",
            include_headers=[h.encode() for h in SIGNED_HEADERS + OVERSIGNED_HEADERS],
            linesep=b"\r\n",
        )
    except (UnicodeError, dkim.DKIMException) as exc:
        raise DkimKeyError(f"cannot DKIM-sign for {key.selector}._domainkey.{key.domain}: {exc}") from exc
    return signature + raw


def public_key_record(private_key_pem: bytes) -> str:
    """The TXT value to publish at <selector>._domainkey.<domain> for this key (v=DKIM1; k=rsa; p=...)."""
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode('ascii')}"
