"""Adapters for a workspace's configured providers, built once per configuration and reused.

A provider row becomes an adapter by its type; the adapter is cached under (row id, updated_at), so an edit
through the API is picked up at the next send and an unchanged provider keeps its warm connections and tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

import httpx
from pydantic import ValidationError

from activities.delivery.base import EmailProvider, PushProvider, SmsProvider
from activities.delivery.chain import ChainLink
from activities.delivery.errors import ProviderConfigurationError
from activities.delivery.fcm import FcmProvider
from activities.delivery.google_auth import ServiceAccountTokens
from activities.delivery.mailgun import MailgunProvider
from activities.delivery.postmark import PostmarkProvider
from activities.delivery.sendgrid import SendGridProvider
from activities.delivery.ses import SesProvider
from activities.delivery.smtp import SmtpProvider
from activities.delivery.twilio import TwilioProvider
from domain.delivery.outbound import Acceptance, OutboundEmail, OutboundPush, OutboundSms
from domain.delivery.providers import (
    Channel,
    FcmProviderConfig,
    MailgunProviderConfig,
    PostmarkProviderConfig,
    ProviderConfig,
    ProviderType,
    SendGridProviderConfig,
    SesProviderConfig,
    SmtpProviderConfig,
    TwilioProviderConfig,
)
from mauntic.secrets import SecretBox, SecretDecryptionError
from store.models import DeliveryProvider
from store.providers import stored_config

DEFAULT_SMTP_ID = "default-smtp"


class ProviderRegistry:
    def __init__(
        self,
        box: SecretBox,
        http: httpx.AsyncClient,
        tokens: ServiceAccountTokens,
        default_smtp: SmtpProviderConfig | None = None,
    ) -> None:
        self._box = box
        self._http = http
        self._tokens = tokens
        self._default_smtp = SmtpProvider(default_smtp, name=DEFAULT_SMTP_ID) if default_smtp else None
        self._adapters: dict[str, tuple[datetime, Any]] = {}
        self._builders: dict[ProviderType, Callable[[Any, str], Any]] = {
            ProviderType.SMTP: lambda config, name: SmtpProvider(cast(SmtpProviderConfig, config), name=name),
            ProviderType.SES: lambda config, name: SesProvider(cast(SesProviderConfig, config), self._http, name=name),
            ProviderType.SENDGRID: lambda config, name: SendGridProvider(
                cast(SendGridProviderConfig, config), self._http, name=name
            ),
            ProviderType.POSTMARK: lambda config, name: PostmarkProvider(
                cast(PostmarkProviderConfig, config), self._http, name=name
            ),
            ProviderType.MAILGUN: lambda config, name: MailgunProvider(
                cast(MailgunProviderConfig, config), self._http, name=name
            ),
            ProviderType.TWILIO: lambda config, name: TwilioProvider(
                cast(TwilioProviderConfig, config), self._http, name=name
            ),
            ProviderType.FCM: lambda config, name: FcmProvider(
                cast(FcmProviderConfig, config), self._http, self._tokens, name=name
            ),
        }

    def email_chain(self, rows: list[DeliveryProvider]) -> list[ChainLink[EmailProvider]]:
        """The workspace's email providers; with none configured, the deployment's SMTP relay."""
        links = self._links(rows, Channel.EMAIL)
        if not links and self._default_smtp is not None:
            return [ChainLink(DEFAULT_SMTP_ID, DEFAULT_SMTP_ID, cast(EmailProvider, self._default_smtp))]
        return links

    def sms_chain(self, rows: list[DeliveryProvider]) -> list[ChainLink[SmsProvider]]:
        return self._links(rows, Channel.SMS)

    def push_chain(self, rows: list[DeliveryProvider]) -> list[ChainLink[PushProvider]]:
        return self._links(rows, Channel.PUSH)

    def _links(self, rows: list[DeliveryProvider], channel: Channel) -> list[ChainLink[Any]]:
        return [ChainLink(row.id, row.name, self._adapter(row)) for row in rows if row.channel == channel]

    def _adapter(self, row: DeliveryProvider) -> Any:
        cached = self._adapters.get(row.id)
        if cached is not None and cached[0] == row.updated_at:
            return cached[1]
        try:
            config: ProviderConfig = stored_config(row, self._box)
        except SecretDecryptionError:
            adapter: Any = MisconfiguredProvider(row.name, "its stored secrets do not decrypt with this key")
        except (ValidationError, ValueError):
            # The message would quote the stored values, secrets included: say only which fields are wrong.
            adapter = MisconfiguredProvider(row.name, "its stored configuration no longer validates")
        else:
            adapter = self._builders[ProviderType(row.type)](config, row.name)
        self._adapters[row.id] = (row.updated_at, adapter)
        return adapter


class MisconfiguredProvider:
    """Stands in the chain for a provider whose stored configuration cannot be used: every send fails with a
    configuration error, so the chain moves on to the next provider and the reason reaches the message log."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self._error = f"provider {name!r} is misconfigured: {reason}; update it through /v1/providers"

    async def send_email(self, message: OutboundEmail) -> Acceptance:
        raise ProviderConfigurationError(self._error, code="stored_config_unusable")

    async def send_sms(self, message: OutboundSms) -> Acceptance:
        raise ProviderConfigurationError(self._error, code="stored_config_unusable")

    async def send_push(self, message: OutboundPush) -> Acceptance:
        raise ProviderConfigurationError(self._error, code="stored_config_unusable")
