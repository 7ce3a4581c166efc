"""SendGrid Event Webhook: a JSON array of events, possibly of mixed types.

Event id: `sg_event_id`. Message: `sg_message_id` up to its first '.' is the `X-Message-Id` the send API returned;
our message log id comes back as the custom arg `message_log_id` (top level, as SendGrid flattens custom args,
or under `custom_args`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.webhooks.model import (
    MAX_MESSAGE_ID,
    MAX_RAW_TYPE,
    MAX_REASON,
    MAX_RECIPIENT,
    MAX_URL,
    BounceType,
    EventType,
    MalformedPayload,
    NormalizedEvent,
    cut,
    from_unix,
    mapping,
    optional_mapping,
    our_id,
    required,
)

_TYPES = {
    "delivered": EventType.DELIVERED,
    "deferred": EventType.DEFERRED,
    "bounce": EventType.BOUNCED,
    "blocked": EventType.BOUNCED,
    "dropped": EventType.FAILED,
    "open": EventType.OPENED,
    "click": EventType.CLICKED,
    "spamreport": EventType.COMPLAINED,
    "unsubscribe": EventType.UNSUBSCRIBED,
    "group_unsubscribe": EventType.UNSUBSCRIBED,
}


def normalize_sendgrid(payload: Any, received_at: datetime) -> list[NormalizedEvent]:
    if not isinstance(payload, list):
        raise MalformedPayload("a SendGrid Event Webhook body is a JSON array of events")
    return [_event(mapping(item, f"event {i}"), i, received_at) for i, item in enumerate(payload)]


def _event(record: dict[str, Any], index: int, received_at: datetime) -> NormalizedEvent:
    raw_type = required(record, "event", f"event {index}")
    kind = _TYPES.get(raw_type, EventType.UNKNOWN)
    bounce_type = None
    if kind is EventType.BOUNCED:
        # `type` is "bounce" (the address is bad) or "blocked" (the receiver refused this time).
        blocked = raw_type == "blocked" or record.get("type") == "blocked"
        bounce_type = BounceType.SOFT if blocked else BounceType.HARD
    sg_message_id = cut(record.get("sg_message_id"), MAX_MESSAGE_ID * 2)
    custom_args = optional_mapping(record.get("custom_args")) | optional_mapping(record.get("unique_args"))
    return NormalizedEvent(
        type=kind,
        provider_event_id=required(record, "sg_event_id", f"event {index}"),
        raw_type=raw_type[:MAX_RAW_TYPE],
        occurred_at=from_unix(record.get("timestamp"), received_at),
        recipient=cut(record.get("email"), MAX_RECIPIENT),
        provider_message_id=sg_message_id.split(".", 1)[0][:MAX_MESSAGE_ID] if sg_message_id else None,
        message_log_id=our_id(record.get("message_log_id") or custom_args.get("message_log_id")),
        bounce_type=bounce_type,
        reason=cut(record.get("reason") or record.get("response") or record.get("status"), MAX_REASON)
        if kind in (EventType.BOUNCED, EventType.DEFERRED, EventType.FAILED)
        else None,
        url=cut(record.get("url"), MAX_URL) if kind is EventType.CLICKED else None,
    )
