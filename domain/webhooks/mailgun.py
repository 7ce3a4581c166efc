"""Mailgun webhooks (JSON): `{"signature": {...}, "event-data": {...}}`, one event per request.

Event id: `event-data.id`. Message: `event-data.message.headers.message-id` (the id the send API returned, without
angle brackets); our message log id comes back as the user variable `message_log_id` (`v:message_log_id`).
A `failed` event is a hard bounce when permanent (unless Mailgun refused to send to an address it had already
suppressed: then it is `failed`), deferred when temporary (Mailgun retries).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.webhooks.model import (
    MAX_RAW_TYPE,
    MAX_REASON,
    MAX_RECIPIENT,
    MAX_URL,
    BounceType,
    EventType,
    NormalizedEvent,
    bare_message_id,
    cut,
    from_unix,
    mapping,
    optional_mapping,
    our_id,
    required,
)

_TYPES = {
    "delivered": EventType.DELIVERED,
    "opened": EventType.OPENED,
    "clicked": EventType.CLICKED,
    "unsubscribed": EventType.UNSUBSCRIBED,
    "complained": EventType.COMPLAINED,
    "rejected": EventType.FAILED,
}


def normalize_mailgun(payload: Any, received_at: datetime) -> list[NormalizedEvent]:
    data = mapping(mapping(payload, "a Mailgun webhook body").get("event-data"), "`event-data`")
    raw_type = required(data, "event", "event-data")
    kind = _TYPES.get(raw_type, EventType.UNKNOWN)
    status = optional_mapping(data.get("delivery-status"))
    reason = cut(
        status.get("description") or status.get("message") or data.get("reason") or optional_mapping(
            data.get("reject")).get("reason"), MAX_REASON)  # fmt: skip
    bounce_type = None
    if raw_type == "failed":
        suppressed = str(data.get("reason", "")).startswith("suppress-")
        if data.get("severity") == "temporary":
            kind = EventType.DEFERRED
        elif suppressed:
            kind = EventType.FAILED
        else:
            kind, bounce_type = EventType.BOUNCED, BounceType.HARD
    message = optional_mapping(data.get("message"))
    return [
        NormalizedEvent(
            type=kind,
            provider_event_id=required(data, "id", "event-data"),
            raw_type=raw_type[:MAX_RAW_TYPE],
            occurred_at=from_unix(data.get("timestamp"), received_at),
            recipient=cut(data.get("recipient"), MAX_RECIPIENT),
            provider_message_id=bare_message_id(optional_mapping(message.get("headers")).get("message-id")),
            message_log_id=our_id(optional_mapping(data.get("user-variables")).get("message_log_id")),
            bounce_type=bounce_type,
            reason=reason if kind in (EventType.BOUNCED, EventType.DEFERRED, EventType.FAILED) else None,
            url=cut(data.get("url"), MAX_URL) if kind is EventType.CLICKED else None,
        )
    ]
