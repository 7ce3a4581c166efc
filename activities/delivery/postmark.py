"""Postmark Email API (`POST /email`, X-Postmark-Server-Token). Postmark builds and signs the MIME message from
the fields; `Metadata` carries our message log id back in its webhooks."""

from __future__ import annotations

import httpx

from activities.delivery.errors import PermanentDeliveryError, ProviderConfigurationError, TransientDeliveryError
from activities.delivery.http_errors import (
    ErrorDetail,
    ErrorKind,
    error_from_response,
    json_body,
    read_generic_error,
    send_request,
    unreadable_acceptance,
)
from domain.delivery.outbound import Acceptance, OutboundEmail
from domain.delivery.providers import PostmarkProviderConfig

EMAIL_PATH = "/email"

# Postmark's API error codes (the body's ErrorCode), by the class they belong to; other codes follow the status.
_ERROR_KINDS: dict[int, ErrorKind] = {
    10: ProviderConfigurationError,  # bad or missing server token
    100: TransientDeliveryError,  # maintenance
    300: PermanentDeliveryError,  # invalid email request (bad address, no body, too many recipients)
    400: ProviderConfigurationError,  # sender signature not found
    401: ProviderConfigurationError,  # sender signature not confirmed
    405: ProviderConfigurationError,  # not allowed to send (account out of credits)
    406: PermanentDeliveryError,  # inactive recipient (bounced, complained or unsubscribed at Postmark)
    412: ProviderConfigurationError,  # account pending approval
    413: ProviderConfigurationError,  # account may not send
    429: TransientDeliveryError,  # rate limit exceeded
    1235: ProviderConfigurationError,  # the message stream does not exist
}


def read_postmark_error(response: httpx.Response) -> ErrorDetail:
    body = json_body(response)
    if not isinstance(body, dict) or not isinstance(body.get("ErrorCode"), int):
        return read_generic_error(response)
    code: int = body["ErrorCode"]
    return ErrorDetail(message=str(body.get("Message", "")), code=str(code), kind=_ERROR_KINDS.get(code))


class PostmarkProvider:
    def __init__(self, config: PostmarkProviderConfig, http: httpx.AsyncClient, *, name: str = "postmark") -> None:
        self.name = name
        self._config = config
        self._http = http
        self._url = config.base_url.rstrip("/") + EMAIL_PATH

    def request_body(self, message: OutboundEmail) -> dict[str, object]:
        if not (message.html or message.text):
            raise PermanentDeliveryError(f"{self.name}: the email has neither a text nor an HTML body", code="no_body")
        body: dict[str, object] = {
            "From": message.sender,
            "To": message.to,
            "Subject": message.subject,
            "MessageStream": self._config.message_stream,
            "Metadata": {"message_log_id": message.message_log_id},
        }
        if message.html:
            body["HtmlBody"] = message.html
        if message.text:
            body["TextBody"] = message.text
        if message.headers:
            body["Headers"] = [{"Name": name, "Value": value} for name, value in message.headers.items()]
        return body

    async def send_email(self, message: OutboundEmail) -> Acceptance:
        request = self._http.build_request(
            "POST",
            self._url,
            json=self.request_body(message),
            headers={"Accept": "application/json", "X-Postmark-Server-Token": self._config.server_token},
        )
        response = await send_request(self._http, request, provider=self.name, read_error=read_postmark_error)
        answer = json_body(response)
        if isinstance(answer, dict) and answer.get("ErrorCode", 0) != 0:
            # Postmark documents errors with non-2xx statuses; an error code in a 200 is read the same way.
            raise error_from_response(response, provider=self.name, read_error=read_postmark_error)
        message_id = answer.get("MessageID") if isinstance(answer, dict) else None
        if not isinstance(message_id, str) or not message_id:
            raise unreadable_acceptance(self.name, response, "MessageID")
        return Acceptance(provider=self.name, provider_message_id=message_id)
