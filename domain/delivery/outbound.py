"""What a delivery adapter is asked to send, per channel, and what it answers when the provider accepts it."""

from __future__ import annotations

from pydantic import BaseModel, Field


class OutboundEmail(BaseModel):
    """One rendered email. `raw` is the complete RFC 5322 message (DKIM-signed when the sending domain is
    verified); adapters that take MIME (SMTP, SES raw, Mailgun mime) send it as is. API-style adapters (SendGrid,
    Postmark) rebuild the message from the fields and pass `headers` on."""

    idempotency_key: str
    message_log_id: str
    sender: str
    to: str
    subject: str
    html: str | None = None
    text: str | None = None
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers, e.g. List-Unsubscribe.")
    raw: bytes


class OutboundSms(BaseModel):
    idempotency_key: str
    message_log_id: str
    to: str = Field(description="E.164")
    body: str


class OutboundPush(BaseModel):
    idempotency_key: str
    message_log_id: str
    token: str = Field(description="The device's registration token")
    title: str | None = None
    body: str | None = None
    data: dict[str, str] = Field(default_factory=dict)


class Acceptance(BaseModel):
    """The provider took the message: who, and the id it gave it (webhooks refer to it)."""

    provider: str
    provider_message_id: str
