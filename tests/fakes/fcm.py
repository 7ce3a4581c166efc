"""A fake of Google's OAuth 2.0 token endpoint and of FCM HTTP v1 for contract tests (serve with
tests.servers.serve_api).

`POST /token` implements the service-account JWT bearer grant: the RS256 assertion is verified against the
account's public key, then `iss`, `aud` (this endpoint's URL), `scope`, `iat` and `exp` (at most one hour apart,
not expired) are checked, as Google does; errors are `{error, error_description}`. Issued tokens carry
`expires_in` and are counted, so a test can tell a cached token from a fresh one.

`POST /v1/projects/{project}/messages:send` takes `{"message": {token, notification, data}}` with a Bearer token
from the endpoint above and answers `{"name": "projects/<p>/messages/<id>"}` or a google.rpc.Status error with a
`google.firebase.fcm.v1.FcmError` detail. Device tokens can be marked unregistered, owned by another sender or
failing at the third party (APNs/Web Push credentials), and any answer can be scripted.

Time comes from `clock`, shared with the code under test, so expiry is tested without waiting.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_HTTP_FOR_STATUS = {
    "INVALID_ARGUMENT": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
}


@dataclass(frozen=True)
class FakeServiceAccount:
    client_email: str
    public_key_pem: str
    project_id: str
    private_key_id: str | None = None


@dataclass
class _Issued:
    client_email: str
    scopes: frozenset[str]
    expires_at: float


@dataclass
class _Scripted:
    status_code: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeFcm:
    accounts: dict[str, FakeServiceAccount] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    expires_in: int = 3599
    unregistered_tokens: set[str] = field(default_factory=set)
    foreign_tokens: set[str] = field(default_factory=set)
    third_party_failing_tokens: set[str] = field(default_factory=set)
    token_requests: int = 0
    assertions: list[dict[str, Any]] = field(default_factory=list)  # verified headers and claims
    sends: list[dict[str, Any]] = field(default_factory=list)  # accepted request bodies, with the account
    send_requests: int = 0
    _issued: dict[str, _Issued] = field(default_factory=dict)
    _scripted_sends: list[_Scripted] = field(default_factory=list)
    _scripted_tokens: list[_Scripted] = field(default_factory=list)

    def add_account(self, account: FakeServiceAccount) -> None:
        self.accounts[account.client_email] = account

    def revoke_tokens(self) -> None:
        """Every access token issued so far stops working (FCM answers 401 UNAUTHENTICATED)."""
        self._issued.clear()

    def fail_next_send(
        self, status: str, error_code: str | None = None, message: str = "", *, retry_after: str | None = None
    ) -> None:
        """Answer the next authenticated send with this google.rpc.Status (and FcmError code, if given)."""
        http_status = _HTTP_FOR_STATUS[status]
        body = _status_body(http_status, status, message or f"scripted {status}", error_code)
        self._scripted_sends.append(_Scripted(http_status, body, _retry_after(retry_after)))

    def fail_next_token(
        self, status_code: int, error: str, description: str = "", *, retry_after: str | None = None
    ) -> None:
        body = {"error": error, "error_description": description or f"scripted {error}"}
        self._scripted_tokens.append(_Scripted(status_code, body, _retry_after(retry_after)))

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/token")
        async def token(request: Request) -> JSONResponse:
            self.token_requests += 1
            form = {k: v[-1] for k, v in parse_qs((await request.body()).decode()).items()}
            if self._scripted_tokens:
                scripted = self._scripted_tokens.pop(0)
                return JSONResponse(scripted.body, status_code=scripted.status_code, headers=scripted.headers)
            return self._grant(form, audience=str(request.url.replace(query="")))

        @app.post("/v1/projects/{project_id}/messages:send")
        async def send(project_id: str, request: Request) -> JSONResponse:
            self.send_requests += 1
            return self._send(project_id, request.headers.get("authorization"), await request.body())

        return app

    # The token endpoint

    def _grant(self, form: dict[str, str], *, audience: str) -> JSONResponse:
        if form.get("grant_type") != JWT_BEARER:
            return _oauth_error("unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type', '')}")
        assertion = form.get("assertion", "")
        account = self.accounts.get(str(_unverified_claims(assertion).get("iss", "")))
        if account is None:
            return _oauth_error("invalid_grant", "Invalid grant: account not found")
        try:
            verified = jwt.decode(assertion, RSAKey.import_key(account.public_key_pem), algorithms=["RS256"])
        except (JoseError, ValueError):
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        header, claims = dict(verified.header), dict(verified.claims)
        if account.private_key_id is not None and header.get("kid") != account.private_key_id:
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        if claims.get("aud") != audience:
            return _oauth_error("invalid_grant", "Invalid JWT: Failed audience check.")
        now = self.clock()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not (isinstance(iat, int) and isinstance(exp, int) and iat - 60 <= now < exp and exp - iat <= 3600):
            return _oauth_error(
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
                "Check your iat and exp values in the JWT claim.",
            )
        scopes = frozenset(str(claims.get("scope", "")).split())
        if not scopes:
            return _oauth_error("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        self.assertions.append({"header": header, "claims": claims})
        access_token = "ya29.fake-" + secrets.token_urlsafe(24)
        self._issued[access_token] = _Issued(account.client_email, scopes, now + self.expires_in)
        return JSONResponse({"access_token": access_token, "expires_in": self.expires_in, "token_type": "Bearer"})

    # FCM

    def _send(self, project_id: str, authorization: str | None, raw: bytes) -> JSONResponse:
        scheme, _, access_token = (authorization or "").partition(" ")
        issued = self._issued.get(access_token) if scheme == "Bearer" else None
        if issued is None or self.clock() >= issued.expires_at:
            return _status_error(
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                "other valid authentication credential.",
            )
        if FCM_SCOPE not in issued.scopes:
            return _status_error("PERMISSION_DENIED", "Request had insufficient authentication scopes.")
        if self.accounts[issued.client_email].project_id != project_id:
            return _status_error(
                "PERMISSION_DENIED",
                f"Permission 'cloudmessaging.messages.create' denied on resource "
                f"'//cloudresourcemanager.googleapis.com/projects/{project_id}' (or it may not exist).",
            )
        if self._scripted_sends:
            scripted = self._scripted_sends.pop(0)
            return JSONResponse(scripted.body, status_code=scripted.status_code, headers=scripted.headers)
        try:
            body = json.loads(raw)
        except ValueError:
            return _status_error("INVALID_ARGUMENT", "Invalid JSON payload received.")
        problem = _invalid_message(body)
        if problem:
            return _status_error("INVALID_ARGUMENT", problem, "INVALID_ARGUMENT")
        device = body["message"]["token"]
        if device in self.unregistered_tokens:
            return _status_error("NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
        if device in self.foreign_tokens:
            return _status_error("PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH")
        if device in self.third_party_failing_tokens:
            return _status_error(
                "UNAUTHENTICATED", "Auth error from APNS or Web Push Service", "THIRD_PARTY_AUTH_ERROR"
            )
        self.sends.append({"account": issued.client_email, **body})
        name = f"projects/{project_id}/messages/0:{len(self.sends)}%{secrets.token_hex(8)}"
        return JSONResponse({"name": name})


def _invalid_message(body: Any) -> str | None:
    """The checks FCM makes on a token-addressed message, as its INVALID_ARGUMENT descriptions say them."""
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, dict):
        return "Invalid JSON payload received. Unknown name or missing field: message"
    unknown = set(message) - {"token", "notification", "data", "android", "apns", "webpush", "fcm_options", "name"}
    if unknown:
        return f"Invalid JSON payload received. Unknown name \"{sorted(unknown)[0]}\" at 'message'"
    token = message.get("token")
    if not isinstance(token, str) or not token or any(c.isspace() for c in token):
        return "The registration token is not a valid FCM registration token"
    notification = message.get("notification", {})
    if not isinstance(notification, dict) or any(
        k not in ("title", "body", "image") or not isinstance(v, str) for k, v in notification.items()
    ):
        return "Invalid value at 'message.notification'"
    data = message.get("data", {})
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return "Invalid value at 'message.data' (Map), values must be strings"
    return None


def _unverified_claims(assertion: str) -> dict[str, Any]:
    try:
        payload = assertion.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _status_body(http_status: int, status: str, message: str, error_code: str | None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": http_status, "message": message, "status": status}
    if error_code is not None:
        error["details"] = [{"@type": FCM_ERROR_TYPE, "errorCode": error_code}]
    return {"error": error}


def _status_error(status: str, message: str, error_code: str | None = None) -> JSONResponse:
    http_status = _HTTP_FOR_STATUS[status]
    return JSONResponse(_status_body(http_status, status, message, error_code), status_code=http_status)


def _oauth_error(error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


def _retry_after(value: str | None) -> dict[str, str]:
    return {"Retry-After": value} if value is not None else {}
