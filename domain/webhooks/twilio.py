"""Twilio Messaging status callbacks: form fields, one status per request.

Event id: `<MessageSid>:<MessageStatus>` (a message reaches each status once). Message: `MessageSid`. Twilio does
not say when the status changed, so occurred_at is when we received it.

`undelivered` and `failed` carry an ErrorCode: 30005 (unknown destination handset), 30006 (landline or
unreachable carrier), 21211 (invalid 'To' number) and 21614 ('To' is not a mobile number) will never succeed, so
they are hard bounces; 21610 (the recipient replied STOP) is an unsubscribe; any other code of `undelivered`
(e.g. 30003, the handset is switched off or out of coverage) is a soft bounce, of `failed` a failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from domain.webhooks.model import (
    MAX_MESSAGE_ID,
    MAX_RAW_TYPE,
    MAX_RECIPIENT,
    BounceType,
    EventType,
    MalformedPayload,
    NormalizedEvent,
    cut,
    event_id,
)

HARD_ERROR_CODES = frozenset({"30005", "30006", "21211", "21614"})
UNSUBSCRIBED_ERROR_CODES = frozenset({"21610"})
_TYPES = {"delivered": EventType.DELIVERED, "read": EventType.OPENED}


def normalize_twilio(form: Mapping[str, str], received_at: datetime) -> list[NormalizedEvent]:
    sid = cut(form.get("MessageSid") or form.get("SmsSid"), MAX_MESSAGE_ID)
    status = cut(form.get("MessageStatus") or form.get("SmsStatus"), MAX_RAW_TYPE)
    if sid is None or status is None:
        raise MalformedPayload("a Twilio status callback carries MessageSid and MessageStatus")
    code = cut(form.get("ErrorCode"), 16)
    kind, bounce_type, reason = _TYPES.get(status, EventType.UNKNOWN), None, None
    if status in ("undelivered", "failed"):
        reason = f"Twilio error {code}" if code else status
        if code in UNSUBSCRIBED_ERROR_CODES:
            kind = EventType.UNSUBSCRIBED
        elif code in HARD_ERROR_CODES:
            kind, bounce_type = EventType.BOUNCED, BounceType.HARD
        elif status == "undelivered":
            kind, bounce_type = EventType.BOUNCED, BounceType.SOFT
        else:
            kind = EventType.FAILED
    return [
        NormalizedEvent(
            type=kind,
            provider_event_id=event_id(sid, status),
            raw_type=status,
            occurred_at=received_at,
            recipient=cut(form.get("To"), MAX_RECIPIENT),
            provider_message_id=sid,
            bounce_type=bounce_type,
            reason=reason,
        )
    ]
