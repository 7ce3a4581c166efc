"""Postmark webhooks: one JSON record per request, its kind in `RecordType`.

Event ids: Bounce and SpamComplaint records carry an `ID`; the others (Delivery, Open, Click, SubscriptionChange)
have none, so theirs is `<MessageID>:<RecordType>:<Recipient>:<time of the record>` (DeliveredAt, ReceivedAt,
ChangedAt), which is what makes two reports of the same occurrence equal. Message: `MessageID` (what the send API
returned); our message log id comes back as `Metadata.message_log_id`.
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
    NormalizedEvent,
    cut,
    event_id,
    from_iso,
    mapping,
    optional_mapping,
    our_id,
    required,
)

_HARD = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated"}
# SpamNotification (512) is the receiving server's spam filter refusing the message, not the recipient complaining
# (SpamComplaint, 100001): Postmark does not deactivate the address, and sending again may succeed
# (postmarkapp.com/support/article/1065-what-is-the-difference-between-a-spam-complaint-and-a-spam-notification-bounce).
_SOFT = {"SoftBounce", "Transient", "DnsError", "Blocked", "Unknown", "DMARCPolicy", "Unconfirmed", "SpamNotification"}
_BOUNCE_TYPES: dict[str, tuple[EventType, BounceType | None]] = (
    {name: (EventType.BOUNCED, BounceType.HARD) for name in _HARD}
    | {name: (EventType.BOUNCED, BounceType.SOFT) for name in _SOFT}
    | {
        "SpamComplaint": (EventType.COMPLAINED, None),
        "Unsubscribe": (EventType.UNSUBSCRIBED, None),
        "SMTPApiError": (EventType.FAILED, None),
        "TemplateRenderingFailed": (EventType.FAILED, None),
    }
)
_TIME_FIELD = {
    "Delivery": "DeliveredAt",
    "Open": "ReceivedAt",
    "Click": "ReceivedAt",
    "SubscriptionChange": "ChangedAt",
}


def normalize_postmark(payload: Any, received_at: datetime) -> list[NormalizedEvent]:
    record = mapping(payload, "a Postmark webhook body")
    record_type = required(record, "RecordType", "the Postmark record")
    message_id = cut(record.get("MessageID"), MAX_MESSAGE_ID)
    common: dict[str, Any] = {
        "provider_message_id": message_id,
        "message_log_id": our_id(optional_mapping(record.get("Metadata")).get("message_log_id")),
    }
    if record_type in ("Bounce", "SpamComplaint"):
        raw_type = cut(record.get("Type"), MAX_RAW_TYPE) or record_type
        kind, bounce_type = _BOUNCE_TYPES.get(raw_type, (EventType.UNKNOWN, None))
        if record_type == "SpamComplaint":
            kind, bounce_type = EventType.COMPLAINED, None
        return [
            NormalizedEvent(
                type=kind,
                provider_event_id=required(record, "ID", f"the Postmark {record_type} record"),
                raw_type=raw_type,
                occurred_at=from_iso(record.get("BouncedAt"), received_at),
                recipient=cut(record.get("Email"), MAX_RECIPIENT),
                bounce_type=bounce_type,
                reason=cut(record.get("Description") or record.get("Details"), MAX_REASON),
                **common,
            )
        ]
    time_field = _TIME_FIELD.get(record_type)
    recipient = cut(record.get("Recipient") or record.get("Email"), MAX_RECIPIENT)
    moment = record.get(time_field) if time_field else None
    composed_id = event_id(message_id, record_type, recipient, moment)
    kind, bounce_type, reason = EventType.UNKNOWN, None, None
    if record_type == "Delivery":
        kind = EventType.DELIVERED
    elif record_type == "Open":
        kind = EventType.OPENED
    elif record_type == "Click":
        kind = EventType.CLICKED
    elif record_type == "SubscriptionChange" and record.get("SuppressSending") is True:
        reason = cut(record.get("SuppressionReason"), MAX_REASON)
        kind = {"HardBounce": EventType.BOUNCED, "SpamComplaint": EventType.COMPLAINED}.get(
            reason or "", EventType.UNSUBSCRIBED
        )
        bounce_type = BounceType.HARD if kind is EventType.BOUNCED else None
    return [
        NormalizedEvent(
            type=kind,
            provider_event_id=composed_id,
            raw_type=record_type[:MAX_RAW_TYPE],
            occurred_at=from_iso(moment, received_at),
            recipient=recipient,
            bounce_type=bounce_type,
            reason=reason,
            url=cut(record.get("OriginalLink"), MAX_URL) if kind is EventType.CLICKED else None,
            **common,
        )
    ]
