"""The adapter interfaces, one per channel. An adapter turns a message into one provider API call and maps the
provider's answer to an Acceptance or a DeliveryError (activities/delivery/errors.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
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


# The moment a message is handed over. The chain sets `handover` for each provider's send call (chain.py,
# `on_attempt`); an adapter that can tell when the message itself starts to travel (SMTP: right before DATA, after
# the connection and envelope, which deliver nothing) declares `defers_handover = True` and awaits `hand_over()`
# there; for every other adapter the chain runs it right before the send call.
Handover = Callable[[], Awaitable[None]]
handover: ContextVar[Handover | None] = ContextVar("handover", default=None)


async def hand_over() -> None:
    callback = handover.get()
    if callback is not None:
        await callback()
