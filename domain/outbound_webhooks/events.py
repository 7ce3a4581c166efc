"""The event types a workspace can subscribe an endpoint to, and which outbox rows announce them.

The names are part of the public contract (receivers switch on them): `<object>.<past tense>`, lower case, never
renamed. Provider delivery events arrive as outbox rows of kind `event` named after the normalized provider event
(domain/webhooks/model.py EventType: `delivered`, `bounced`, `complained`).
"""

from __future__ import annotations

from enum import StrEnum

from domain.events.interest import Interest, OutboxKind


class WebhookEventType(StrEnum):
    CONTACT_CREATED = "contact.created"
    CONTACT_UPDATED = "contact.updated"
    MESSAGE_SENT = "message.sent"
    MESSAGE_DELIVERED = "message.delivered"
    MESSAGE_BOUNCED = "message.bounced"
    MESSAGE_COMPLAINED = "message.complained"
    JOURNEY_ENTERED = "journey.entered"
    JOURNEY_COMPLETED = "journey.completed"
    SEGMENT_ENTERED = "segment.entered"
    SEGMENT_EXITED = "segment.exited"
    SCORE_CROSSED = "score.crossed"
    ALERT_OPENED = "alert.opened"
    TASK_ESCALATED = "task.escalated"


# Types named (a stable contract) but not yet written to the outbox by a producer: an endpoint cannot subscribe
# to them, rather than subscribe and silently receive nothing. None today. message.sent (the send step's outcome),
# journey.entered (the dispatcher's enrollment), journey.completed (the journey's last command) and task.escalated
# (a human task's SLA escalation with `notify`, activities/tasks) are written
# only for workspaces with an endpoint subscribed to them (store/webhook_endpoints.py SubscribedTypes).
NOT_YET_EMITTED: frozenset[WebhookEventType] = frozenset()

# provider delivery event name (an outbox row of kind `event`) -> the type it is announced as
PROVIDER_EVENTS: dict[str, WebhookEventType] = {
    "delivered": WebhookEventType.MESSAGE_DELIVERED,
    "bounced": WebhookEventType.MESSAGE_BOUNCED,
    "complained": WebhookEventType.MESSAGE_COMPLAINED,
}
_CONTACT = {"created": WebhookEventType.CONTACT_CREATED, "updated": WebhookEventType.CONTACT_UPDATED}
_BY_KIND: dict[str, WebhookEventType] = {
    OutboxKind.SEGMENT_ENTERED: WebhookEventType.SEGMENT_ENTERED,
    OutboxKind.SEGMENT_EXITED: WebhookEventType.SEGMENT_EXITED,
    OutboxKind.SCORE_CROSSED: WebhookEventType.SCORE_CROSSED,
    OutboxKind.ALERT_OPENED: WebhookEventType.ALERT_OPENED,
    OutboxKind.MESSAGE_SENT: WebhookEventType.MESSAGE_SENT,
    OutboxKind.JOURNEY_ENTERED: WebhookEventType.JOURNEY_ENTERED,
    OutboxKind.JOURNEY_COMPLETED: WebhookEventType.JOURNEY_COMPLETED,
    OutboxKind.TASK_ESCALATED: WebhookEventType.TASK_ESCALATED,
}


def event_type_of(kind: str, name: str) -> WebhookEventType | None:
    """The webhook type an outbox row announces (None: no subscriber could want it)."""
    if kind == OutboxKind.CONTACT:
        return _CONTACT.get(name)
    if kind == OutboxKind.EVENT:
        return PROVIDER_EVENTS.get(name)
    return _BY_KIND.get(kind)


def interest_of(subscribed: set[str]) -> Interest:
    """What ingestion and provider webhooks must queue for endpoints subscribed to these types."""
    names = frozenset(name for name, kind in PROVIDER_EVENTS.items() if kind.value in subscribed)
    contacts = bool(subscribed & {WebhookEventType.CONTACT_CREATED.value, WebhookEventType.CONTACT_UPDATED.value})
    return Interest(names, contacts)
