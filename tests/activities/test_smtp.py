from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from activities.delivery.smtp import PermanentDeliveryError, SmtpConfig, SmtpSender, TransientDeliveryError
from domain.delivery.email import build_email
from tests.servers import SmtpSink, free_port, smtp_sink


def _message(to: str = "ada@example.test") -> Any:
    return build_email(
        sender="Team <team@example.test>", to=to, subject="Hello", html="<p>Hi</p>", text="Hi", idempotency_key="k1"
    )


@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    async with smtp_sink() as server:
        yield server


async def test_sends_multipart_message_with_stable_message_id(sink: SmtpSink) -> None:
    sender = SmtpSender(SmtpConfig(host=sink.host, port=sink.port))
    message_id = await sender.send(_message())
    [received] = await sink.wait_for(1)
    assert received["Message-ID"] == message_id
    assert received.get_body(("plain",)).get_content().strip() == "Hi"  # type: ignore[union-attr]
    assert received.get_body(("html",)).get_content().strip() == "<p>Hi</p>"  # type: ignore[union-attr]
    assert sink.envelopes == [("team@example.test", ["ada@example.test"])]
    assert _message()["Message-ID"] == message_id  # same idempotency key, same Message-ID


class _RefusingHandler:
    def __init__(self, code: str) -> None:
        self._code = code

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        return self._code


@pytest.mark.parametrize(
    ("reply", "error"),
    [("550 5.1.1 no such user", PermanentDeliveryError), ("451 4.3.0 try again later", TransientDeliveryError)],
)
async def test_classifies_refusals(reply: str, error: type[Exception]) -> None:
    port = free_port()
    controller = Controller(_RefusingHandler(reply), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with pytest.raises(error):
            await SmtpSender(SmtpConfig(host="127.0.0.1", port=port)).send(_message())
    finally:
        controller.stop()


async def test_unreachable_server_is_transient() -> None:
    with pytest.raises(TransientDeliveryError):
        await SmtpSender(SmtpConfig(host="127.0.0.1", port=free_port(), timeout=2)).send(_message())
