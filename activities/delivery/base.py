"""The adapter interfaces, one per channel. An adapter turns a message into one provider API call and maps the
provider's answer to an Acceptance or a DeliveryError (activities/delivery/errors.py)."""

from __future__ import annotations

from typing import Protocol

from domain.delivery.outbound import Acceptance, OutboundEmail, OutboundPush, OutboundSms


class EmailProvider(Protocol):
    name: str

    async def send_email(self, message: OutboundEmail) -> Acceptance: ...


class SmsProvider(Protocol):
    name: str

    async def send_sms(self, message: OutboundSms) -> Acceptance: ...


class PushProvider(Protocol):
    name: str

    async def send_push(self, message: OutboundPush) -> Acceptance: ...
