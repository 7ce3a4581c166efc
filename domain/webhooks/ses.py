"""Amazon SES notifications, delivered through SNS (the envelope is verified in api/webhooks/verify_sns.py).

The SNS `Message` is the SES JSON: either a notification (`notificationType`: Bounce, Complaint, Delivery) or an
event-publishing record (`eventType`: Send, Delivery, Bounce, Complaint, DeliveryDelay, Reject, Open, Click,
Rendering Failure, Subscription). A bounce, complaint, delivery or delay names several recipients: each gets its
own event, with id `<SNS MessageId>:<recipient index>`. Message: `mail.messageId` (what SendEmail returned); our
message log id comes back as the `message_log_id` message tag (`mail.tags`).
"""

from __future__ import annotations

import json
from dataclasses import replace
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
    event_id,
    from_iso,
    mapping,
    optional_mapping,
    our_id,
)

_SINGLE = {
    "Open": (EventType.OPENED, "open"),
    "Click": (EventType.CLICKED, "click"),
    "Reject": (EventType.FAILED, "reject"),
    "Rendering Failure": (EventType.FAILED, "failure"),
}
# type -> (normalized type, detail key, recipients key)
_PER_RECIPIENT = {
    "Bounce": (EventType.BOUNCED, "bounce", "bouncedRecipients"),
    "Complaint": (EventType.COMPLAINED, "complaint", "complainedRecipients"),
    "Delivery": (EventType.DELIVERED, "delivery", "recipients"),
    "DeliveryDelay": (EventType.DEFERRED, "deliveryDelay", "delayedRecipients"),
}


def normalize_ses(sns_message_id: str, message: str, received_at: datetime) -> list[NormalizedEvent]:
    """The events of one SNS notification whose `Message` is an SES record."""
    try:
        record = mapping(json.loads(message), "the SES notification")
    except (ValueError, RecursionError) as exc:
        raise MalformedPayload("the SNS Message is not an SES JSON record") from exc
    raw_type = cut(record.get("eventType") or record.get("notificationType"), MAX_RAW_TYPE)
    if raw_type is None:
        raise MalformedPayload("the SES record has neither eventType nor notificationType")
    mail = optional_mapping(record.get("mail"))
    fallback = from_iso(mail.get("timestamp"), received_at)
    destination = mail.get("destination")
    recipients = destination if isinstance(destination, list) else []
    template = NormalizedEvent(
        type=EventType.UNKNOWN,
        provider_event_id=event_id(sns_message_id, 0),
        raw_type=raw_type,
        occurred_at=fallback,
        recipient=cut(recipients[0], MAX_RECIPIENT) if len(recipients) == 1 else None,
        provider_message_id=cut(mail.get("messageId"), MAX_MESSAGE_ID),
        message_log_id=_tag(mail, "message_log_id"),
    )
    if raw_type in _PER_RECIPIENT:
        kind, detail_key, recipients_key = _PER_RECIPIENT[raw_type]
        detail = mapping(record.get(detail_key), f"the SES {raw_type} record's `{detail_key}`")
        occurred_at = from_iso(detail.get("timestamp"), fallback)
        return _per_recipient(sns_message_id, kind, detail, detail.get(recipients_key), template, occurred_at)
    if raw_type in _SINGLE:
        kind, detail_key = _SINGLE[raw_type]
        detail = optional_mapping(record.get(detail_key))
        failed = kind is EventType.FAILED
        return [
            replace(
                template,
                type=kind,
                occurred_at=from_iso(detail.get("timestamp"), fallback),
                url=cut(detail.get("link"), MAX_URL) if kind is EventType.CLICKED else None,
                reason=cut(detail.get("reason") or detail.get("errorMessage"), MAX_REASON) if failed else None,
            )
        ]
    return [template]


def _per_recipient(
    sns_message_id: str,
    kind: EventType,
    detail: dict[str, Any],
    recipients: Any,
    template: NormalizedEvent,
    occurred_at: datetime,
) -> list[NormalizedEvent]:
    if not isinstance(recipients, list) or not recipients:
        raise MalformedPayload(f"the SES {template.raw_type} record names no recipients")
    bounce_type = None
    if kind is EventType.BOUNCED:
        bounce_type = BounceType.HARD if detail.get("bounceType") == "Permanent" else BounceType.SOFT
    events = []
    for index, entry in enumerate(recipients):
        if isinstance(entry, str):  # delivery.recipients is a list of addresses
            address, reason = cut(entry, MAX_RECIPIENT), None
        else:
            item = mapping(entry, f"recipient {index}")
            address = cut(item.get("emailAddress"), MAX_RECIPIENT)
            reason = cut(item.get("diagnosticCode") or item.get("status"), MAX_REASON)
        if kind is EventType.BOUNCED and reason is None:
            reason = cut(f"{detail.get('bounceType')}/{detail.get('bounceSubType')}", MAX_REASON)
        if kind is EventType.COMPLAINED:
            reason = cut(detail.get("complaintFeedbackType"), MAX_REASON)
        if kind is EventType.DEFERRED and reason is None:
            reason = cut(detail.get("delayType"), MAX_REASON)
        events.append(
            replace(
                template,
                type=kind,
                provider_event_id=event_id(sns_message_id, index),
                occurred_at=occurred_at,
                recipient=address,
                bounce_type=bounce_type,
                reason=reason if kind is not EventType.DELIVERED else None,
            )
        )
    return events


def _tag(mail: dict[str, Any], name: str) -> str | None:
    values = optional_mapping(mail.get("tags")).get(name)
    return our_id(values[0]) if isinstance(values, list) and values else None
