"""AWS Signature Version 4 for request headers, as a pure function of the request, the credentials and the time.

Covers what AWS JSON/REST services need (SES v2): the path is normalized and URI-encoded once more (the rule for
every service but S3, which this module does not serve), the query is sorted, every header handed in is signed,
and the session token (temporary credentials) is signed as `X-Amz-Security-Token`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class AwsCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


@dataclass(frozen=True)
class SignedRequest:
    """`headers` are the ones to add to the request (X-Amz-Date, X-Amz-Security-Token, X-Amz-Content-Sha256 when
    asked for, Authorization); the intermediate strings are kept for diagnostics and tests."""

    headers: dict[str, str]
    canonical_request: str
    string_to_sign: str
    signature: str


def sign(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: AwsCredentials,
    region: str,
    service: str,
    now: datetime,
    sign_content_sha256: bool = False,
) -> SignedRequest:
    """Sign a request. `url` is the URL as sent (its path already percent-encoded where needed); `headers` are
    the request's headers to sign (Host is derived from the URL when missing)."""
    amz_date = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    payload_hash = hashlib.sha256(body).hexdigest()

    added = {"X-Amz-Date": amz_date}
    if credentials.session_token:
        added["X-Amz-Security-Token"] = credentials.session_token
    if sign_content_sha256:
        added["X-Amz-Content-Sha256"] = payload_hash

    to_sign = {name.lower(): _canonical_value(value) for name, value in {**headers, **added}.items()}
    to_sign.setdefault("host", _host(url))
    signed_headers = ";".join(sorted(to_sign))
    parts = urlsplit(url)
    canonical_request = "\n".join(
        [
            method.upper(),
            canonical_path(parts.path),
            canonical_query(parts.query),
            "".join(f"{name}:{to_sign[name]}\n" for name in sorted(to_sign)),
            signed_headers,
            payload_hash,
        ]
    )
    string_to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = signing_key(credentials.secret_access_key, amz_date[:8], region, service)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    added["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )
    return SignedRequest(
        headers=added, canonical_request=canonical_request, string_to_sign=string_to_sign, signature=signature
    )


def signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret_access_key}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def canonical_path(path: str) -> str:
    """Remove empty and dot segments, keep a trailing slash, then URI-encode (an already encoded path is thus
    encoded twice, as AWS requires of every service but S3)."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    normalized = "/" + "/".join(segments)
    if path.endswith("/") and segments:
        normalized += "/"
    return quote(normalized, safe="/~")


def canonical_query(query: str) -> str:
    pairs = []
    for item in query.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        pairs.append((_encode(unquote(name)), _encode(unquote(value))))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def _encode(value: str) -> str:
    return quote(value, safe="~")


def _canonical_value(value: str) -> str:
    """Trim, and collapse runs of whitespace (folded lines included) to one space."""
    return " ".join(value.split())


def _host(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        return f"{host}:{parts.port}"
    return host
