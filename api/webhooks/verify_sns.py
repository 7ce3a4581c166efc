"""Amazon SNS message signatures (SES notifications arrive through SNS).

SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA, over the canonical string AWS documents: `Key\\nValue\\n`
for Message, MessageId, Subject (when present), Timestamp, TopicArn, Type of a Notification, and for Message,
MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type of a (Un)SubscriptionConfirmation. The certificate comes
from SigningCertURL, accepted only as https on `sns.<region>.amazonaws.com` (or `.com.cn`) with the path
`/SimpleNotificationService-<hex>.pem`, fetched by an injectable fetcher (the default one uses httpx and caches
certificates). A certificate that cannot be fetched for now (the network, a timeout, AWS answering 5xx or 429) is a
503, which SNS retries; a certificate that does not verify the message is a 401.
"""

from __future__ import annotations

import base64
import re
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from api.webhooks.errors import certificate_unavailable, invalid_signature, missing_signature

SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
SNS_CERTIFICATE_PATH = re.compile(r"/SimpleNotificationService-[0-9a-f]+\.pem")  # matched whole
NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"
_SIGNED_KEYS = {
    NOTIFICATION: ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    SUBSCRIPTION_CONFIRMATION: ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    UNSUBSCRIBE_CONFIRMATION: ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
MAX_CERTIFICATE_BYTES = 16_384


class SnsFetcher(Protocol):
    """What SNS verification fetches: signing certificates, and SubscribeURL to confirm a subscription."""

    async def certificate(self, url: str) -> bytes: ...

    async def confirm_subscription(self, url: str) -> None: ...


class HttpxSnsFetcher:
    """The default fetcher: https only, no redirects, certificates cached by URL (AWS rotates them rarely)."""

    def __init__(self, timeout: float = 5.0, cache_size: int = 32) -> None:
        self._timeout = timeout
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_size = cache_size

    async def certificate(self, url: str) -> bytes:
        if url in self._cache:
            self._cache.move_to_end(url)
            return self._cache[url]
        async with (
            httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as http,
            http.stream("GET", url) as response,
        ):
            response.raise_for_status()
            content = await _read_certificate(response)
        self._cache[url] = content
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return content

    async def confirm_subscription(self, url: str) -> None:
        async with (
            httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as http,
            http.stream("GET", url) as response,  # the body is not needed: only the status is read
        ):
            response.raise_for_status()


async def _read_certificate(response: httpx.Response) -> bytes:
    """The body, refused (ValueError) once over the limit, as declared or as received: never read past it."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_CERTIFICATE_BYTES:
        raise ValueError("the signing certificate is too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_CERTIFICATE_BYTES:
            raise ValueError("the signing certificate is too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _may_succeed_later(exc: Exception) -> bool:
    """A network error or timeout, or AWS answering 5xx or 429 (anything else means there is no such certificate)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx.TransportError)


def sns_url_allowed(url: Any, *, certificate: bool) -> bool:
    """https, an SNS endpoint host, the default port, no credentials; a certificate URL's path is AWS's."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "https" or "@" in parts.netloc or port not in (None, 443):
        return False
    if not SNS_HOST.match(parts.hostname or ""):
        return False
    return bool(SNS_CERTIFICATE_PATH.fullmatch(parts.path)) if certificate else True


def canonical_string(message: dict[str, Any]) -> bytes:
    keys = _SIGNED_KEYS[message["Type"]]
    lines = []
    for key in keys:
        if key == "Subject" and message.get(key) is None:
            continue
        value = message.get(key)
        if not isinstance(value, str):
            raise invalid_signature(f"the SNS message has no string `{key}`")
        lines.append(f"{key}\n{value}\n")
    return "".join(lines).encode()


async def verify_sns(message: dict[str, Any], fetcher: SnsFetcher, now: datetime | None = None) -> None:
    """Raise unless the message is signed by a currently valid certificate served from an SNS endpoint."""
    kind = message.get("Type")
    if not isinstance(kind, str) or kind not in _SIGNED_KEYS:
        raise invalid_signature(f"unknown SNS message Type {kind!r}")
    signature_b64, version, cert_url = message.get("Signature"), message.get("SignatureVersion"), message.get(
        "SigningCertURL")  # fmt: skip
    if not signature_b64 or not cert_url:
        raise missing_signature("the SNS message has no Signature or SigningCertURL")
    algorithm = _HASHES.get(str(version))
    if algorithm is None:
        raise invalid_signature(f"unsupported SignatureVersion {version!r}")
    if not sns_url_allowed(cert_url, certificate=True):
        raise invalid_signature(
            "SigningCertURL is not https://sns.<region>.amazonaws.com/SimpleNotificationService-<hex>.pem"
        )
    try:
        signature = base64.b64decode(str(signature_b64), validate=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        raise invalid_signature("the Signature is not base64") from None
    signed = canonical_string(message)
    try:
        certificate = x509.load_pem_x509_certificate(await fetcher.certificate(cert_url))
    except (httpx.HTTPError, ValueError) as exc:
        if _may_succeed_later(exc):
            raise certificate_unavailable() from None
        raise invalid_signature(f"the signing certificate could not be loaded: {type(exc).__name__}") from None
    moment = now or datetime.now(UTC)
    if not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
        raise invalid_signature("the signing certificate is not valid now")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise invalid_signature("the signing certificate does not hold an RSA key")
    try:
        key.verify(signature, signed, padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise invalid_signature() from None
