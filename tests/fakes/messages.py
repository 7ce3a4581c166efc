"""Outbound emails for the adapter contract tests, with a real RFC 5322 rendering in `raw`."""

from __future__ import annotations

from typing import Any

from domain.delivery.email import build_email
from domain.delivery.outbound import OutboundEmail

LIST_UNSUBSCRIBE = {
    "List-Unsubscribe": "<https://example.test/u/tok123>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}


def outbound_email(**overrides: Any) -> OutboundEmail:
    fields: dict[str, Any] = {
        "idempotency_key": "send-1",
        "message_log_id": "msg_01hzy0k3q4r5s6t7v8w9x0y1z2",
        "sender": "Team <team@example.test>",
        "to": "ada@example.org",
        "subject": "Hello",
        "html": "<p>Hi Ada</p>",
        "text": "Hi Ada",
        "headers": dict(LIST_UNSUBSCRIBE),
    }
    fields.update(overrides)
    message = build_email(
        sender=fields["sender"],
        to=fields["to"],
        subject=fields["subject"],
        html=fields["html"],
        text=fields["text"],
        idempotency_key=fields["idempotency_key"],
    )
    for name, value in fields["headers"].items():
        message[name] = value
    fields.setdefault("raw", message.as_bytes())
    return OutboundEmail(**fields)
