"""SMTP delivery through aiosmtplib.

`SmtpProvider` is the EmailProvider adapter: it sends the rendered RFC 5322 bytes as they are, over plain SMTP,
required STARTTLS or implicit TLS, logs in when the configuration has a username, and maps every failure to a
DeliveryError: 5xx refusals are permanent, 4xx replies and connection trouble transient, rejected credentials and
TLS failures (handshake, untrusted certificate, STARTTLS not offered) mean our configuration is wrong.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import suppress
from email import policy
from email.parser import BytesHeaderParser
from email.utils import parseaddr

import aiosmtplib

from activities.delivery.base import hand_over
from activities.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    ProviderConfigurationError,
    TransientDeliveryError,
    UncertainDeliveryError,
)
from domain.delivery.outbound import Acceptance, OutboundEmail
from domain.delivery.providers import SmtpProviderConfig

# Replies that say our credentials are missing or wrong (RFC 4954): 530 authentication required, 534 mechanism too
# weak, 535 credentials invalid, 538 encryption required for the mechanism.
_AUTH_REPLY_CODES = frozenset({530, 534, 535, 538})


class SmtpProvider:
    """An EmailProvider that hands the raw message to an SMTP server."""

    defers_handover = True  # the message starts to travel at DATA: see base.hand_over

    def __init__(self, config: SmtpProviderConfig, *, name: str = "smtp") -> None:
        self.name = name
        self._config = config
        self._tls_context = _tls_context(config) if config.security != "none" else None

    async def send_email(self, message: OutboundEmail) -> Acceptance:
        message_id = _message_id(message.raw)
        envelope_from, envelope_to = _address(message.sender), _address(message.to)
        config = self._config
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            use_tls=config.security == "tls",
            start_tls=False,  # upgraded explicitly below, so that a server without STARTTLS is an error
            tls_context=self._tls_context,
            timeout=config.timeout_seconds,
        )
        try:
            await self._connect(client)
            await self._envelope(client, envelope_from, envelope_to)
            await hand_over()
            await self._data(client, message.raw)
            with suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()
        finally:
            client.close()
        return Acceptance(provider=self.name, provider_message_id=message_id)

    async def _envelope(self, client: aiosmtplib.SMTP, sender: str, recipient: str) -> None:
        """MAIL FROM and RCPT TO. A refused sender is this relay's problem (another provider may take it); a
        refused recipient is the message's."""
        utf8 = not (sender.isascii() and recipient.isascii())
        try:
            if client.is_ehlo_or_helo_needed:
                await client.ehlo()
            if utf8 and not client.supports_extension("smtputf8"):
                raise PermanentDeliveryError(
                    "the address needs SMTPUTF8, which this server does not offer", code="smtp:smtputf8"
                )
            encoding, options = ("utf-8", ["SMTPUTF8"]) if utf8 else ("ascii", [])
            try:
                await client.mail(sender, options=options, encoding=encoding)
            except aiosmtplib.SMTPResponseException as exc:
                raise _refusal(exc.code, exc.message, "sender refused", sender_refused=True) from exc
            try:
                await client.rcpt(recipient, encoding=encoding)
            except aiosmtplib.SMTPResponseException as exc:
                raise _refusal(exc.code, exc.message, "recipient refused", recipient_refused=True) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise _connection_failure(exc) from exc

    async def _data(self, client: aiosmtplib.SMTP, raw: bytes) -> None:
        try:
            await client.data(raw)
        except aiosmtplib.SMTPResponseException as exc:
            raise _refusal(exc.code, exc.message, "message refused") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            # The body may have reached the server, which may have queued it before the reply was lost.
            raise UncertainDeliveryError(
                f"the connection failed during DATA: {exc or type(exc).__name__}", code="smtp:data_interrupted"
            ) from exc

    async def _connect(self, client: aiosmtplib.SMTP) -> None:
        """Connect, upgrade with STARTTLS when configured, and log in when there is a username."""
        config = self._config
        try:
            await client.connect()
        except aiosmtplib.SMTPConnectResponseError as exc:
            raise _refusal(exc.code, exc.message, "server refused the connection") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise _connection_failure(exc) from exc
        if config.security == "starttls":
            await client.ehlo()
            if not client.supports_extension("starttls"):
                raise ProviderConfigurationError(
                    f"{config.host}:{config.port} does not offer STARTTLS", code="smtp:starttls_unavailable"
                )
            try:
                await client.starttls()
            except aiosmtplib.SMTPResponseException as exc:
                raise _refusal(exc.code, exc.message, "STARTTLS refused") from exc
            except (aiosmtplib.SMTPException, OSError) as exc:
                raise _connection_failure(exc) from exc
        if config.username:
            try:
                await client.login(config.username, config.password)
            except aiosmtplib.SMTPAuthenticationError as exc:
                raise ProviderConfigurationError(
                    f"authentication failed: {exc.code} {exc.message}", code=f"smtp:{exc.code}"
                ) from exc
            except aiosmtplib.SMTPResponseException as exc:
                raise _refusal(exc.code, exc.message, "AUTH refused") from exc
            except aiosmtplib.SMTPException as exc:  # the server offers no (suitable) AUTH mechanism
                raise ProviderConfigurationError(str(exc), code="smtp:auth_unavailable") from exc


def _tls_context(config: SmtpProviderConfig) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if config.ca_certificate_pem:
        context.load_verify_locations(cadata=config.ca_certificate_pem)
    if not config.verify_certificates:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _address(mailbox: str) -> str:
    """The bare address of `Name <address>` (SMTP envelopes carry no display names)."""
    return parseaddr(mailbox)[1] or mailbox


def _message_id(raw: bytes) -> str:
    headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
    message_id = str(headers.get("Message-ID", "")).strip()
    if not message_id:
        raise PermanentDeliveryError("the message has no Message-ID header", code="smtp:no_message_id")
    return message_id


def _refusal(
    code: int, text: str, what: str, *, sender_refused: bool = False, recipient_refused: bool = False
) -> DeliveryError:
    detail = f"{what}: {code} {text}"
    if code in _AUTH_REPLY_CODES or (sender_refused and 500 <= code < 600):
        # A 5xx to MAIL FROM (relaying denied, sender not allowed) is about this relay, not the message.
        return ProviderConfigurationError(detail, code=f"smtp:{code}")
    if 500 <= code < 600:
        return PermanentDeliveryError(detail, code=f"smtp:{code}")
    # A recipient's 4xx (greylisting, full mailbox) says nothing about the relay's health.
    return TransientDeliveryError(detail, code=f"smtp:{code}", provider_fault=not recipient_refused)


def _connection_failure(exc: BaseException) -> DeliveryError:
    """TLS failures mean our configuration (or the server's certificate) is wrong; anything else may pass later."""
    tls_error = next((e for e in _causes(exc) if isinstance(e, ssl.SSLError)), None)
    if tls_error is not None:
        return ProviderConfigurationError(f"TLS failed: {tls_error}", code="smtp:tls")
    return TransientDeliveryError(str(exc) or type(exc).__name__, code="smtp:connection")


def _causes(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__
