"""SmtpProvider against real aiosmtpd servers on loopback: plain, STARTTLS with AUTH, implicit TLS, and each
failure class."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from activities.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    ProviderConfigurationError,
    TransientDeliveryError,
    UncertainDeliveryError,
)
from activities.delivery.smtp import SmtpProvider
from domain.delivery.email import build_email, message_id_for
from domain.delivery.outbound import OutboundEmail
from domain.delivery.providers import SmtpProviderConfig
from tests.servers import SmtpSink, free_port, smtp_sink
from tests.smtp_servers import LoopbackPki, recording_smtp_server

USERS = {"mailer": "s3cret"}


def _outbound(to: str = "ada@example.test") -> OutboundEmail:
    built = build_email(
        sender="Team <team@example.test>", to=to, subject="Hello", html="<p>Hi</p>", text="Hi", idempotency_key="k1"
    )
    built["List-Unsubscribe"] = "<https://u.example.test/x>"
    return OutboundEmail(
        idempotency_key="k1",
        message_log_id="msg_1",
        sender="Team <team@example.test>",
        to=to,
        subject="Hello",
        html="<p>Hi</p>",
        text="Hi",
        raw=built.as_bytes(),
    )


def _config(port: int, **overrides: Any) -> SmtpProviderConfig:
    return SmtpProviderConfig.model_validate({"host": "127.0.0.1", "port": port, "timeout_seconds": 5, **overrides})


@pytest.fixture(scope="module")
def pki() -> LoopbackPki:
    return LoopbackPki.generate()


@pytest.fixture
async def plain_sink() -> AsyncIterator[SmtpSink]:
    async with smtp_sink() as server:
        yield server


async def test_plain_sends_raw_bytes_unchanged() -> None:
    message = _outbound()
    async with recording_smtp_server("none") as server:
        acceptance = await SmtpProvider(_config(server.port, security="none"), name="smtp-primary").send_email(message)
        [received] = await server.wait_for(1)

    assert acceptance.provider == "smtp-primary"
    assert acceptance.provider_message_id == received["Message-ID"]
    assert acceptance.provider_message_id == message_id_for("k1", "team@example.test")
    assert received["List-Unsubscribe"] == "<https://u.example.test/x>"
    assert server.envelopes == [("team@example.test", ["ada@example.test"])]
    assert server.logins == []
    # SMTP puts CRLF on the wire; everything else arrives byte for byte.
    assert server.raw == [message.raw.replace(b"\n", b"\r\n")]


async def test_starttls_with_auth(pki: LoopbackPki) -> None:
    async with recording_smtp_server("starttls", pki=pki, users=USERS) as server:
        config = _config(
            server.port, security="starttls", username="mailer", password="s3cret", ca_certificate_pem=pki.ca_pem
        )
        acceptance = await SmtpProvider(config).send_email(_outbound())
        [received] = await server.wait_for(1)
    assert acceptance.provider_message_id == received["Message-ID"]
    assert server.envelopes == [("team@example.test", ["ada@example.test"])]
    assert server.logins == ["mailer"]


async def test_display_names_stay_out_of_the_envelope() -> None:
    message = _outbound().model_copy(update={"to": "Ada Lovelace <ada@example.test>"})
    async with recording_smtp_server("none") as server:
        await SmtpProvider(_config(server.port, security="none")).send_email(message)
    assert server.envelopes == [("team@example.test", ["ada@example.test"])]


async def test_server_requiring_auth_refuses_a_provider_without_credentials(pki: LoopbackPki) -> None:
    async with recording_smtp_server("starttls", pki=pki, users=USERS) as server:
        config = _config(server.port, security="starttls", ca_certificate_pem=pki.ca_pem)
        with pytest.raises(ProviderConfigurationError) as caught:
            await SmtpProvider(config).send_email(_outbound())
    assert caught.value.code == "smtp:530"
    assert server.messages == []


async def test_implicit_tls(pki: LoopbackPki) -> None:
    async with recording_smtp_server("tls", pki=pki, users=USERS) as server:
        config = _config(
            server.port, security="tls", username="mailer", password="s3cret", ca_certificate_pem=pki.ca_pem
        )
        await SmtpProvider(config).send_email(_outbound())
        [received] = await server.wait_for(1)
    assert received["Subject"] == "Hello"
    assert server.logins == ["mailer"]


async def test_wrong_password_is_a_configuration_error(pki: LoopbackPki) -> None:
    async with recording_smtp_server("starttls", pki=pki, users=USERS) as server:
        config = _config(
            server.port, security="starttls", username="mailer", password="wrong", ca_certificate_pem=pki.ca_pem
        )
        with pytest.raises(ProviderConfigurationError) as caught:
            await SmtpProvider(config).send_email(_outbound())
    assert caught.value.code == "smtp:535"
    assert server.messages == []


@pytest.mark.parametrize("mode", ["starttls", "tls"])
async def test_untrusted_certificate_is_a_configuration_error(pki: LoopbackPki, mode: Any) -> None:
    async with recording_smtp_server(mode, pki=pki, users=USERS) as server:
        config = _config(server.port, security=mode, username="mailer", password="s3cret")  # CA not trusted
        with pytest.raises(ProviderConfigurationError) as caught:
            await SmtpProvider(config).send_email(_outbound())
    assert caught.value.code == "smtp:tls"
    assert "certificate verify failed" in str(caught.value)
    assert server.messages == []


async def test_certificate_of_another_ca_is_refused(pki: LoopbackPki) -> None:
    other_ca = LoopbackPki.generate("another CA").ca_pem
    async with recording_smtp_server("tls", pki=pki) as server:
        with pytest.raises(ProviderConfigurationError):
            await SmtpProvider(_config(server.port, security="tls", ca_certificate_pem=other_ca)).send_email(
                _outbound()
            )


async def test_verification_can_be_switched_off(pki: LoopbackPki) -> None:
    async with recording_smtp_server("tls", pki=pki) as server:
        await SmtpProvider(_config(server.port, security="tls", verify_certificates=False)).send_email(_outbound())
        await server.wait_for(1)


async def test_starttls_required_but_not_offered(plain_sink: SmtpSink) -> None:
    with pytest.raises(ProviderConfigurationError) as caught:
        await SmtpProvider(_config(plain_sink.port, security="starttls")).send_email(_outbound())
    assert caught.value.code == "smtp:starttls_unavailable"
    assert plain_sink.messages == []


async def test_implicit_tls_against_a_plaintext_server(plain_sink: SmtpSink) -> None:
    with pytest.raises(ProviderConfigurationError):
        await SmtpProvider(_config(plain_sink.port, security="tls")).send_email(_outbound())


class _Refusing:
    def __init__(self, stage: str, reply: str) -> None:
        self._stage, self._reply = stage, reply

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self._stage != "MAIL":
            envelope.mail_from = address
            return "250 OK"
        return self._reply

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self._stage != "RCPT":
            envelope.rcpt_tos.append(address)
            return "250 OK"
        return self._reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self._stage == "DROP":  # the body arrived; the connection dies before the reply
            server.transport.close()
            await asyncio.sleep(0.2)
        return self._reply if self._stage == "DATA" else "250 OK"


@contextmanager
def _refusing_server(stage: str, reply: str) -> Iterator[int]:
    port = free_port()
    controller = Controller(_Refusing(stage, reply), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.mark.parametrize(
    ("stage", "reply", "error", "code"),
    [
        ("RCPT", "550 5.1.1 no such user", PermanentDeliveryError, "smtp:550"),
        ("RCPT", "451 4.3.0 try again later", TransientDeliveryError, "smtp:451"),
        ("MAIL", "553 5.7.1 sender not allowed", ProviderConfigurationError, "smtp:553"),
        ("MAIL", "421 4.7.0 too many connections", TransientDeliveryError, "smtp:421"),
        ("DATA", "554 5.7.1 message rejected as spam", PermanentDeliveryError, "smtp:554"),
        ("DATA", "452 4.3.1 insufficient storage", TransientDeliveryError, "smtp:452"),
    ],
)
async def test_refusals_are_classified(stage: str, reply: str, error: type[DeliveryError], code: str) -> None:
    with _refusing_server(stage, reply) as port:
        with pytest.raises(error) as caught:
            await SmtpProvider(_config(port, security="none")).send_email(_outbound())
    assert type(caught.value) is error
    assert caught.value.code == code
    assert reply.split(" ", 1)[1] in str(caught.value)


async def test_a_greylisted_recipient_is_not_the_relays_fault() -> None:
    with _refusing_server("RCPT", "450 4.2.0 greylisted, try later") as port:
        with pytest.raises(TransientDeliveryError) as caught:
            await SmtpProvider(_config(port, security="none")).send_email(_outbound())
    assert not caught.value.provider_fault


async def test_a_connection_lost_after_the_body_is_uncertain_not_transient() -> None:
    with _refusing_server("DROP", "250 OK") as port:
        with pytest.raises(UncertainDeliveryError) as caught:
            await SmtpProvider(_config(port, security="none")).send_email(_outbound())
    assert caught.value.code == "smtp:data_interrupted"


async def test_connection_refused_is_transient() -> None:
    with pytest.raises(TransientDeliveryError) as caught:
        await SmtpProvider(_config(free_port(), security="none")).send_email(_outbound())
    assert caught.value.code == "smtp:connection"


async def test_message_without_message_id_is_refused_before_connecting() -> None:
    message = _outbound().model_copy(update={"raw": b"From: a@example.test\r\nTo: b@example.test\r\n\r\nhi\r\n"})
    with pytest.raises(PermanentDeliveryError):
        await SmtpProvider(_config(free_port(), security="none")).send_email(message)
