"""Provider webhooks: `POST /v1/webhooks/{provider_id}`, one URL per configured delivery provider.

No API key: the provider's own signature (or, for Postmark, basic-auth credentials) is the authentication, checked
against the secrets of the provider row, which also names the workspace. See api/webhooks/service.py.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.deps import app_context
from api.validation import ResourceId
from api.webhooks.service import webhook_service
from api.webhooks.twilio_inbound import receive_inbound

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "malformed_json, malformed_payload, malformed_form (nothing stored)"},
    401: {"description": "missing_signature, invalid_signature, stale_request, replayed_request (nothing stored)"},
    403: {"description": "webhook_not_configured, topic_not_allowed (nothing stored)"},
    404: {"description": "provider_not_found, webhooks_not_supported"},
    413: {"description": "payload_too_large (nothing stored)"},
    503: {
        "description": "storage_unavailable (nothing stored; retry), confirmation_failed, "
        "certificate_unavailable, provider_unreadable"
    },
}


@router.post("/{provider_id}", summary="Receive a provider's delivery events", responses=_RESPONSES)
async def receive_webhook(provider_id: ResourceId, request: Request) -> JSONResponse:
    """SendGrid Event Webhook (signed), Amazon SES through SNS (notifications and subscription confirmations),
    Mailgun, Postmark and Twilio status callbacks, in each provider's own wire format. Answers how many distinct
    events the request carried and how many were new (duplicates of earlier reports are ignored)."""
    outcome = await webhook_service(app_context(request)).receive(provider_id, request)
    return JSONResponse(outcome.body())


@router.post(
    "/{provider_id}/inbound",
    summary="Receive inbound SMS (Twilio): STOP/START keywords change sms consent",
    responses=_RESPONSES,
    response_class=Response,
)
async def receive_inbound_message(provider_id: ResourceId, request: Request) -> Response:
    """Twilio's inbound-message webhook, signed with X-Twilio-Signature. STOP, STOPALL, UNSUBSCRIBE, CANCEL, END
    and QUIT withdraw the sender's sms consent; START, UNSTOP and YES grant it again. Answers empty TwiML."""
    return await receive_inbound(app_context(request), provider_id, request)
