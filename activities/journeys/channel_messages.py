"""What differs between the channels a journey step sends on: where the contact is reached (email address, phone
number, push token), and how the step renders into the channel's outbound message. The send itself (message-log
claim, provider chain, outcome) is one path for all of them (activities/journeys/email.py)."""

from __future__ import annotations

from typing import Any

from domain.access.fields import PUSH_TOKEN_ATTRIBUTE
from domain.content.templates import render_text
from domain.delivery.outbound import OutboundPush, OutboundSms
from domain.journeys.steps import SendEmailStep, SendPushStep, SendSmsStep
from store.models import Contact

SendStep = SendEmailStep | SendSmsStep | SendPushStep
# PUSH_TOKEN_ATTRIBUTE: the contact attribute holding the device registration token push notifications go to (set
# by the app through the contacts API or an identify call); field policies name it as attributes.push_token.
_MISSING = {"email": "contact_has_no_email", "sms": "contact_has_no_phone", "push": "contact_has_no_push_token"}


def channel_of(step: SendStep) -> str:
    if isinstance(step, SendSmsStep):
        return "sms"
    if isinstance(step, SendPushStep):
        return "push"
    return "email"


def recipient(channel: str, contact: Contact) -> str | None:
    if channel == "sms":
        return contact.phone or None
    if channel == "push":
        token = (contact.attributes or {}).get(PUSH_TOKEN_ATTRIBUTE)
        return token if isinstance(token, str) and token else None
    return contact.email or None


def missing_recipient(channel: str) -> str:
    return _MISSING[channel]


def render_sms(step: SendSmsStep, context: dict[str, Any], to: str, key: str, log_id: str) -> OutboundSms:
    return OutboundSms(idempotency_key=key, message_log_id=log_id, to=to, body=render_text(step.body, context))


def render_push(step: SendPushStep, context: dict[str, Any], to: str, key: str, log_id: str) -> OutboundPush:
    return OutboundPush(
        idempotency_key=key,
        message_log_id=log_id,
        token=to,
        title=render_text(step.title, context),
        body=render_text(step.body, context) if step.body is not None else None,
        data={name: render_text(value, context) for name, value in step.data.items()},
    )
