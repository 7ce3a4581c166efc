"""Google service-account access tokens: the OAuth 2.0 JWT bearer grant (RFC 7523) as Google documents it for
server-to-server calls, with a cache per service account and scope.

The assertion is an RS256 JWT signed with the account's private key (authlib): `iss` the account's email, `aud`
the token URI, `scope`, `iat`/`exp` one hour apart, and the key id in the header. The token endpoint answers
`{access_token, expires_in, token_type}`; a token is reused until shortly before it expires, and dropped early
when the API it was sent to refused it (`invalidate`).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from authlib.oauth2.rfc7523 import JWTBearerGrant  # type: ignore[import-untyped]
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from activities.delivery.errors import DeliveryError, ProviderConfigurationError, TransientDeliveryError
from activities.delivery.http_errors import json_object, parse_retry_after

JWT_BEARER_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME_SECONDS = 3600  # the longest Google accepts


@dataclass(frozen=True)
class ServiceAccount:
    client_email: str
    private_key: str = field(repr=False)  # PEM
    private_key_id: str | None = None
    token_uri: str = "https://oauth2.googleapis.com/token"

    @property
    def cache_key(self) -> tuple[str, str, str]:
        """Who the tokens belong to; a rotated key gets tokens of its own."""
        return (self.token_uri, self.client_email, hashlib.sha256(self.private_key.encode()).hexdigest())


@dataclass(frozen=True)
class _CachedToken:
    value: str
    refresh_at: float


class ServiceAccountTokens:
    """Access tokens per (service account, scope), fetched with the JWT bearer grant and reused until
    `refresh_margin_seconds` before they expire. One instance per worker; concurrent callers share one fetch."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        refresh_margin_seconds: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self._margin = refresh_margin_seconds
        self._clock = clock
        self._tokens: dict[tuple[tuple[str, str, str], str], _CachedToken] = {}
        self._locks: dict[tuple[tuple[str, str, str], str], asyncio.Lock] = {}

    async def access_token(self, account: ServiceAccount, scope: str) -> str:
        key = (account.cache_key, scope)
        cached = self._tokens.get(key)
        if cached is not None and self._clock() < cached.refresh_at:
            return cached.value
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(key)
            if cached is not None and self._clock() < cached.refresh_at:
                return cached.value
            fetched = await self._fetch(account, scope)
            self._tokens[key] = fetched
            return fetched.value

    def invalidate(self, account: ServiceAccount, scope: str, token: str) -> None:
        """Forget `token` (the API refused it); a newer token fetched meanwhile is kept."""
        key = (account.cache_key, scope)
        cached = self._tokens.get(key)
        if cached is not None and cached.value == token:
            del self._tokens[key]

    async def _fetch(self, account: ServiceAccount, scope: str) -> _CachedToken:
        issued_at = int(self._clock())
        form = {"grant_type": JWT_BEARER_GRANT_TYPE, "assertion": self._assertion(account, scope, issued_at)}
        try:
            response = await self._http.post(account.token_uri, data=form)
        except httpx.TransportError as exc:
            raise TransientDeliveryError(
                f"token endpoint unreachable: {exc!r}", code="google_oauth:connection"
            ) from exc
        body = json_object(response)
        if response.status_code != 200:
            raise _token_error(response, body)
        token, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
            raise TransientDeliveryError("token endpoint answered without a token", code="google_oauth:malformed")
        margin = min(self._margin, expires_in / 2)
        return _CachedToken(value=token, refresh_at=issued_at + expires_in - margin)

    def _assertion(self, account: ServiceAccount, scope: str, issued_at: int) -> str:
        try:
            key = RSAKey.import_key(_pem(account.private_key))
        except (JoseError, ValueError, TypeError) as exc:
            raise ProviderConfigurationError(
                f"the private key of {account.client_email} cannot be read as an RSA key", code="google_oauth:key"
            ) from exc
        header: dict[str, Any] = {"alg": "RS256", "typ": "JWT"}
        if account.private_key_id:
            header["kid"] = account.private_key_id
        assertion: str = JWTBearerGrant.sign(
            key,
            issuer=account.client_email,
            audience=account.token_uri,
            issued_at=issued_at,
            expires_at=issued_at + ASSERTION_LIFETIME_SECONDS,
            claims={"scope": scope},
            header=header,
        )
        return assertion


def _pem(private_key: str) -> str:
    """Service-account JSON carries the key with escaped newlines; pasted as is, they stay escaped."""
    return private_key.replace("\\n", "\n") if "\n" not in private_key else private_key


def _token_error(response: httpx.Response, body: dict[str, Any]) -> DeliveryError:
    error = body.get("error")
    error = error if isinstance(error, str) else f"http_{response.status_code}"
    detail = f"token endpoint {response.status_code} {error}: {body.get('error_description') or response.text[:200]}"
    if response.status_code == 429 or response.status_code >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return TransientDeliveryError(detail, code=f"google_oauth:{error}", retry_after=retry_after)
    # invalid_grant (bad signature, unknown or disabled key, clock), invalid_client, unauthorized_client, invalid_scope
    return ProviderConfigurationError(detail, code=f"google_oauth:{error}")
