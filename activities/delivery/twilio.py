"""Twilio Programmable Messaging (Messages API, 2010-04-01) as an SmsProvider.

One form-encoded POST per message with HTTP basic auth (Account SID : Auth Token). Twilio answers 201 with the
Message resource (its `sid` is our provider message id) or an error body `{code, message, more_info, status}`;
the numeric code decides the class: the recipient can never take it (permanent), our account or sender is wrong
(configuration), or try again later (transient, honouring Retry-After).
"""

from __future__ import annotations

import httpx

from activities.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    ProviderConfigurationError,
    TransientDeliveryError,
)
from activities.delivery.http_errors import (
    error_from_exception,
    json_object,
    parse_retry_after,
    unreadable_acceptance,
)
from domain.delivery.outbound import Acceptance, OutboundSms
from domain.delivery.providers import TwilioProviderConfig

# https://www.twilio.com/docs/api/errors — codes that mean the account, credentials or sender are wrong: no
# message passes until the configuration changes, so the chain fails over.
CONFIGURATION_ERROR_CODES = frozenset(
    {
        20003,  # authentication failed
        20005,  # account not active
        20404,  # resource not found (wrong Account SID)
        21212,  # invalid 'From' number
        21606,  # 'From' is not a valid, message-capable Twilio number for this account
        21659,  # 'From' is not a Twilio number
        21660,  # 'From' does not belong to this account
        21704,  # the Messaging Service has no phone numbers
        21705,  # invalid Messaging Service
    }
)
# Codes that mean this message, as addressed, can never be sent. Any other 4xx is permanent too; these are named
# because they are the common ones (and are checked before the HTTP status).
PERMANENT_ERROR_CODES = frozenset(
    {
        21211,  # invalid 'To' number
        21408,  # sending to this region is not enabled
        21610,  # the recipient replied STOP (unsubscribed)
        21612,  # 'To' is not reachable from this sender
        21614,  # 'To' is not a mobile number
        21617,  # body too long
    }
)
TRANSIENT_ERROR_CODES = frozenset({20429, 20500, 20503})


class TwilioProvider:
    """An SmsProvider sending through Twilio's Messages API."""

    def __init__(self, config: TwilioProviderConfig, http: httpx.AsyncClient, *, name: str = "twilio") -> None:
        self.name = name
        self._config = config
        self._http = http
        self._url = f"{config.base_url.rstrip('/')}/2010-04-01/Accounts/{config.account_sid}/Messages.json"

    async def send_sms(self, message: OutboundSms) -> Acceptance:
        try:
            response = await self._http.post(
                self._url, data=self._form(message), auth=(self._config.account_sid, self._config.auth_token)
            )
        except httpx.TransportError as exc:
            raise error_from_exception(exc, provider="Twilio", code_prefix="twilio:") from exc
        if response.is_success:
            sid = json_object(response).get("sid")
            if not isinstance(sid, str) or not sid:
                raise unreadable_acceptance(self.name, response, "a message sid")
            return Acceptance(provider=self.name, provider_message_id=sid)
        raise twilio_error(response)

    def _form(self, message: OutboundSms) -> dict[str, str]:
        config = self._config
        form = {"To": message.to, "Body": message.body}
        if config.messaging_service_sid:
            form["MessagingServiceSid"] = config.messaging_service_sid
        else:
            assert config.from_number is not None  # the config schema requires one of the two
            form["From"] = config.from_number
        if config.status_callback_url:
            form["StatusCallback"] = config.status_callback_url
        return form


def twilio_error(response: httpx.Response) -> DeliveryError:
    """Map a Twilio error answer to the delivery error class it means."""
    body = json_object(response)
    code = body.get("code")
    code = code if isinstance(code, int) else None
    status = response.status_code
    detail = f"Twilio {status}" + (f" error {code}" if code else "") + f": {body.get('message') or response.text[:200]}"
    tag = f"twilio:{code or status}"
    if code in TRANSIENT_ERROR_CODES or status == 429 or status >= 500:
        return TransientDeliveryError(
            detail, code=tag, retry_after=parse_retry_after(response.headers.get("Retry-After"))
        )
    if code in CONFIGURATION_ERROR_CODES or status in (401, 403, 404):
        return ProviderConfigurationError(detail, code=tag)
    if code in PERMANENT_ERROR_CODES or 400 <= status < 500:
        return PermanentDeliveryError(detail, code=tag)
    return ProviderConfigurationError(detail, code=tag)  # a redirect or the like: base_url does not point at Twilio
