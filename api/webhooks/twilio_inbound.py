"""Twilio inbound messages (`POST /v1/webhooks/{provider_id}/inbound`, the number's "A message comes in" URL):
SMS opt-out and opt-in keywords land in consent.

Authenticated like the status callbacks: X-Twilio-Signature over the public URL and the form parameters, keyed by
the provider's auth token. Twilio's default opt-out handling (Advanced Opt-Out) treats a message that is exactly one
of STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT (any case, surrounding blanks ignored) as an opt-out of the sending
number, and START, UNSTOP, YES as an opt-in: `From` gets sms consent withdrawn or granted (source sms_keyword). Any
other message is acknowledged and ignored. Twilio retries a failed webhook, and a repeat records nothing new (the
transition is idempotent). The answer is an empty TwiML `<Response/>`: Twilio sends its own confirmation reply.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import Response

from api.context import AppContext
from api.errors import NotFound
from api.webhooks import errors
from api.webhooks.service import read_body
from api.webhooks.verify_twilio import SIGNATURE_HEADER, verify_twilio
from domain.consent.model import ConsentSource, sms_keyword
from domain.delivery.providers import TwilioProviderConfig
from store.consent import consent_at_address
from store.webhook_providers import UnreadableProviderConfig, load_webhook_provider

log = logging.getLogger(__name__)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def receive_inbound(context: AppContext, provider_id: str, request: Request) -> Response:
    try:
        async with context.sessions() as session:
            provider = await load_webhook_provider(session, context.secrets, provider_id)
    except UnreadableProviderConfig as exc:
        log.error("inbound webhook for %s: %s", provider_id, exc)
        raise errors.provider_not_found(provider_id) from None
    if provider is None:
        raise errors.provider_not_found(provider_id)
    if not isinstance(provider.config, TwilioProviderConfig):
        raise NotFound("only Twilio providers take inbound messages", code="webhooks_not_supported")
    body = await read_body(request)
    try:
        params = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=bool(body), max_num_fields=1000)
    except (UnicodeDecodeError, ValueError):
        raise errors.MalformedWebhook("the body is not form-encoded", code="malformed_form") from None
    base = context.settings.api_base_url.rstrip("/")
    url = base + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    verify_twilio(provider.config.auth_token, url, params, request.headers.get(SIGNATURE_HEADER))
    fields = dict(params)
    wanted = sms_keyword(fields.get("Body", ""))
    sender = fields.get("From", "").strip()
    if wanted is not None and sender:
        async with context.sessions() as session:
            await consent_at_address(
                session, provider.workspace_id, channel="sms", address=sender, wanted=wanted,
                source=ConsentSource.SMS_KEYWORD, note=f"inbound {fields.get('Body', '').strip().upper()[:20]}",
            )  # fmt: skip
            await session.commit()
    return Response(EMPTY_TWIML, media_type="application/xml")
