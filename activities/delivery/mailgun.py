"""Mailgun MIME send (`POST /v3/<domain>/messages.mime`, basic auth api:<key>): our raw message goes as is, so
our DKIM signature survives; `v:message_log_id` comes back in Mailgun's webhooks as a user variable."""

from __future__ import annotations

import base64

import httpx

from activities.delivery.http_errors import json_body, send_request, unreadable_acceptance
from domain.delivery.outbound import Acceptance, OutboundEmail
from domain.delivery.providers import MailgunProviderConfig

REGION_BASE_URLS = {"us": "https://api.mailgun.net", "eu": "https://api.eu.mailgun.net"}


class MailgunProvider:
    def __init__(self, config: MailgunProviderConfig, http: httpx.AsyncClient, *, name: str = "mailgun") -> None:
        self.name = name
        self._config = config
        self._http = http
        base_url = config.base_url or REGION_BASE_URLS[config.region]
        self._url = f"{base_url.rstrip('/')}/v3/{config.domain}/messages.mime"
        self._authorization = "Basic " + base64.b64encode(f"api:{config.api_key}".encode()).decode()

    async def send_email(self, message: OutboundEmail) -> Acceptance:
        request = self._http.build_request(
            "POST",
            self._url,
            data={"to": message.to, "v:message_log_id": message.message_log_id},
            files={"message": ("message.eml", message.raw, "message/rfc822")},
            headers={"Authorization": self._authorization},
        )
        # Mailgun's errors are {"message": ...} (or a bare "Forbidden"): the generic reader and status rules fit;
        # a 404 there means our domain is not on the account.
        response = await send_request(self._http, request, provider=self.name)
        answer = json_body(response)
        message_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(message_id, str) or not message_id.strip("<> "):
            raise unreadable_acceptance(self.name, response, "id")
        return Acceptance(provider=self.name, provider_message_id=message_id.strip().strip("<>"))
