"""Firebase Cloud Messaging HTTP v1 as a PushProvider.

`POST {base_url}/v1/projects/{project_id}/messages:send` with `{"message": {token, notification, data}}` and a
service-account access token (activities/delivery/google_auth.py). Google answers `{"name": ...}` or a
google.rpc.Status error whose details may hold a `google.firebase.fcm.v1.FcmError` with an `errorCode`; that code
(or else the status) decides the class. A 401 for our access token drops it and retries once with a fresh one.
"""

from __future__ import annotations

from typing import Any

import httpx

from activities.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    ProviderConfigurationError,
    TransientDeliveryError,
)
from activities.delivery.google_auth import ServiceAccount, ServiceAccountTokens
from activities.delivery.http_errors import (
    error_from_exception,
    json_object,
    parse_retry_after,
    unreadable_acceptance,
)
from domain.delivery.outbound import Acceptance, OutboundPush
from domain.delivery.providers import FcmProviderConfig

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"

# https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode
PERMANENT_ERROR_CODES = frozenset({"UNREGISTERED", "INVALID_ARGUMENT", "SENDER_ID_MISMATCH"})
TRANSIENT_ERROR_CODES = frozenset({"UNAVAILABLE", "INTERNAL", "QUOTA_EXCEEDED"})
CONFIGURATION_ERROR_CODES = frozenset({"THIRD_PARTY_AUTH_ERROR"})
# google.rpc.Code names, for errors without an FcmError detail.
_TRANSIENT_STATUSES = frozenset({"UNAVAILABLE", "INTERNAL", "RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED", "ABORTED"})
_CONFIGURATION_STATUSES = frozenset({"UNAUTHENTICATED", "PERMISSION_DENIED", "NOT_FOUND"})


class FcmProvider:
    """A PushProvider sending through FCM HTTP v1 with a service account."""

    def __init__(
        self, config: FcmProviderConfig, http: httpx.AsyncClient, tokens: ServiceAccountTokens, *, name: str = "fcm"
    ) -> None:
        self.name = name
        self._http = http
        self._tokens = tokens
        self._account = ServiceAccount(
            client_email=config.client_email,
            private_key=config.private_key,
            private_key_id=config.private_key_id,
            token_uri=config.token_uri,
        )
        self._url = f"{config.base_url.rstrip('/')}/v1/projects/{config.project_id}/messages:send"

    async def send_push(self, message: OutboundPush) -> Acceptance:
        payload = {"message": _message(message)}
        token = await self._tokens.access_token(self._account, FCM_SCOPE)
        response = await self._post(payload, token)
        if response.status_code == 401 and _fcm_error_code(json_object(response)) is None:
            # Our access token was refused (revoked, or expired early): fetch a fresh one, once.
            self._tokens.invalidate(self._account, FCM_SCOPE, token)
            token = await self._tokens.access_token(self._account, FCM_SCOPE)
            response = await self._post(payload, token)
        if response.is_success:
            name = json_object(response).get("name")
            if not isinstance(name, str) or not name:
                raise unreadable_acceptance(self.name, response, "a message name")
            return Acceptance(provider=self.name, provider_message_id=name)
        raise fcm_error(response)

    async def _post(self, payload: dict[str, Any], token: str) -> httpx.Response:
        try:
            return await self._http.post(self._url, json=payload, headers={"Authorization": f"Bearer {token}"})
        except httpx.TransportError as exc:
            raise error_from_exception(exc, provider="FCM", code_prefix="fcm:") from exc


def _message(message: OutboundPush) -> dict[str, Any]:
    body: dict[str, Any] = {"token": message.token}
    notification = {k: v for k, v in (("title", message.title), ("body", message.body)) if v is not None}
    if notification:
        body["notification"] = notification
    if message.data:
        body["data"] = dict(message.data)
    return body


def fcm_error(response: httpx.Response) -> DeliveryError:
    """Map an FCM v1 error answer (google.rpc.Status) to the delivery error class it means."""
    body = json_object(response)
    error = body.get("error")
    error = error if isinstance(error, dict) else {}
    fcm_code = _fcm_error_code(body)
    status_name = error.get("status") if isinstance(error.get("status"), str) else None
    http_status = response.status_code
    reason = fcm_code or status_name or f"HTTP_{http_status}"
    detail = f"FCM {http_status} {reason}: {error.get('message') or response.text[:200]}"
    code = f"fcm:{reason}"
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if fcm_code in TRANSIENT_ERROR_CODES:
        return TransientDeliveryError(detail, code=code, retry_after=retry_after)
    if fcm_code in PERMANENT_ERROR_CODES:
        return PermanentDeliveryError(detail, code=code)
    if fcm_code in CONFIGURATION_ERROR_CODES:
        return ProviderConfigurationError(detail, code=code)
    if status_name in _TRANSIENT_STATUSES or http_status == 429 or http_status >= 500:
        return TransientDeliveryError(detail, code=code, retry_after=retry_after)
    if status_name in _CONFIGURATION_STATUSES or http_status in (401, 403, 404):
        return ProviderConfigurationError(detail, code=code)
    if 400 <= http_status < 500:
        return PermanentDeliveryError(detail, code=code)
    return ProviderConfigurationError(detail, code=code)  # a redirect or the like: base_url does not point at FCM


def _fcm_error_code(body: dict[str, Any]) -> str | None:
    error = body.get("error")
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and detail.get("@type") == FCM_ERROR_TYPE:
            code = detail.get("errorCode")
            return code if isinstance(code, str) else None
    return None
