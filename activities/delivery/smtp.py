"""SMTP delivery through aiosmtplib, with errors classified as permanent or transient."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib


class PermanentDeliveryError(Exception):
    """The message can never succeed as addressed (bad recipient, rejected sender, 5xx)."""


class TransientDeliveryError(Exception):
    """Worth retrying later: connection trouble, timeouts, 4xx."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str = ""
    password: str = ""
    start_tls: bool = False
    use_tls: bool = False
    timeout: float = 10.0


class SmtpSender:
    name = "smtp"

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    async def send(self, message: EmailMessage) -> str:
        """Send one message; returns the provider message id (our Message-ID header)."""
        config = self._config
        try:
            errors, _response = await aiosmtplib.send(
                message,
                hostname=config.host,
                port=config.port,
                username=config.username or None,
                password=config.password or None,
                start_tls=config.start_tls,
                use_tls=config.use_tls,
                timeout=config.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # 5xx means this address will never take the message; 4xx (greylisting, full mailbox) may pass later.
            refusals = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            if all(500 <= r.code < 600 for r in exc.recipients):
                raise PermanentDeliveryError(f"recipient refused: {refusals}") from exc
            raise TransientDeliveryError(f"recipient deferred: {refusals}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentDeliveryError(f"{exc.code} {exc.message}") from exc
            raise TransientDeliveryError(f"{exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientDeliveryError(str(exc) or type(exc).__name__) from exc
        if errors:
            raise PermanentDeliveryError(f"recipients refused: {sorted(errors)}")
        return str(message["Message-ID"])
