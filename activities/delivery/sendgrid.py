"""SendGrid v3 Mail Send (`POST /v3/mail/send`, Bearer API key). SendGrid builds and DKIM-signs the MIME message
itself from the fields; `custom_args` carries our message log id back in its Event Webhook."""

from __future__ import annotations

import time
from email.utils import parseaddr

import httpx

from activities.delivery.errors import PermanentDeliveryError
from activities.delivery.http_errors import ErrorDetail, json_body, send_request, unreadable_acceptance
from domain.delivery.outbound import Acceptance, OutboundEmail
from domain.delivery.providers import SendGridProviderConfig

MAIL_SEND_PATH = "/v3/mail/send"


def read_sendgrid_error(response: httpx.Response) -> ErrorDetail:
    """Errors come as {"errors": [{"message", "field", "help"}]}; a 429 says when the limit resets in
    X-RateLimit-Reset (a Unix time)."""
    body = json_body(response)
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors:
        items = [e for e in errors if isinstance(e, dict)]
        message = "; ".join(
            f"{e.get('field')}: {e.get('message')}" if e.get("field") else str(e.get("message")) for e in items
        )
        fields = [str(e["field"]) for e in items if e.get("field")]
        detail_code = fields[0] if fields else None
    else:
        message, detail_code = response.text.strip()[:300] or response.reason_phrase, None
    reset = response.headers.get("x-ratelimit-reset", "")
    retry_after = max(0.0, float(reset) - time.time()) if reset.isdigit() else None
    return ErrorDetail(message=message or response.reason_phrase, code=detail_code, retry_after=retry_after)


def _address(value: str) -> dict[str, str]:
    name, email = parseaddr(value)
    return {"email": email or value, "name": name} if name else {"email": email or value}


class SendGridProvider:
    def __init__(self, config: SendGridProviderConfig, http: httpx.AsyncClient, *, name: str = "sendgrid") -> None:
        self.name = name
        self._config = config
        self._http = http
        self._url = config.base_url.rstrip("/") + MAIL_SEND_PATH

    def request_body(self, message: OutboundEmail) -> dict[str, object]:
        # SendGrid requires text/plain first, then text/html.
        content = [
            {"type": kind, "value": value}
            for kind, value in (("text/plain", message.text), ("text/html", message.html))
            if value
        ]
        if not content:
            raise PermanentDeliveryError(f"{self.name}: the email has neither a text nor an HTML body", code="no_body")
        body: dict[str, object] = {
            "personalizations": [{"to": [_address(message.to)]}],
            "from": _address(message.sender),
            "subject": message.subject,
            "content": content,
            "custom_args": {"message_log_id": message.message_log_id},
        }
        if message.headers:
            body["headers"] = dict(message.headers)
        return body

    async def send_email(self, message: OutboundEmail) -> Acceptance:
        request = self._http.build_request(
            "POST",
            self._url,
            json=self.request_body(message),
            headers={"Authorization": f"Bearer {self._config.api_key}"},
        )
        response = await send_request(self._http, request, provider=self.name, read_error=read_sendgrid_error)
        message_id = response.headers.get("x-message-id")
        if not message_id:
            raise unreadable_acceptance(self.name, response, "X-Message-Id")
        return Acceptance(provider=self.name, provider_message_id=message_id)
