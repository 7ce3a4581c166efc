"""The body of a delivery, Standard Webhooks' shape: `{"type", "timestamp", "data"}`. It is fixed when the
delivery is queued, so every attempt (and a redelivery) signs and sends the same bytes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from domain.outbound_webhooks.events import WebhookEventType

_DATA_KEY = {
    WebhookEventType.SEGMENT_ENTERED: "segment_id",
    WebhookEventType.SEGMENT_EXITED: "segment_id",
    WebhookEventType.SCORE_CROSSED: "score_group",
    WebhookEventType.ALERT_OPENED: "score_group",
    WebhookEventType.JOURNEY_ENTERED: "journey_id",
    WebhookEventType.JOURNEY_COMPLETED: "journey_id",
    WebhookEventType.TASK_ESCALATED: "task_id",
}


def data_of(
    event_type: WebhookEventType,
    *,
    workspace_id: str,
    contact_id: str,
    event_id: str,
    name: str,
    properties: dict[str, Any],
    contact: dict[str, Any] | None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"workspace_id": workspace_id, "contact_id": contact_id, "event_id": event_id}
    if event_type in (WebhookEventType.CONTACT_CREATED, WebhookEventType.CONTACT_UPDATED):
        data["contact"] = contact
    elif event_type is WebhookEventType.MESSAGE_SENT:
        data["channel"] = name
        data.update(properties)
    elif event_type.value.startswith("message."):
        data.update(properties)
        data.setdefault("event", name)
    else:
        data[_DATA_KEY.get(event_type, "name")] = name
        data["properties"] = properties
    return data


def body_of(event_type: WebhookEventType, occurred_at: datetime, data: dict[str, Any]) -> str:
    payload = {"type": event_type.value, "timestamp": occurred_at.isoformat(), "data": data}
    return json.dumps(payload, separators=(",", ":"), default=str, ensure_ascii=False)
