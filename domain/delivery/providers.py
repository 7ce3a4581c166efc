"""Delivery provider types, the channel each serves, and the configuration schema of each.

A schema names its secret fields in `SECRET_FIELDS`: the store keeps those encrypted and the API never returns
them. `base_url` (or `endpoint_url`) exists so a deployment can route through a proxy; it defaults to the
provider's documented endpoint.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"


class ProviderType(StrEnum):
    SMTP = "smtp"
    SES = "ses"
    SENDGRID = "sendgrid"
    POSTMARK = "postmark"
    MAILGUN = "mailgun"
    TWILIO = "twilio"
    FCM = "fcm"


_NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
_Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s/]+(/[^\s]*)?$", max_length=2048)]


class ProviderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    TYPE: ClassVar[ProviderType]
    CHANNEL: ClassVar[Channel]
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ()

    def public(self) -> dict[str, Any]:
        """The configuration without its secrets."""
        return self.model_dump(mode="json", exclude=set(self.SECRET_FIELDS))

    def secrets(self) -> dict[str, Any]:
        return self.model_dump(mode="json", include=set(self.SECRET_FIELDS))


class SmtpProviderConfig(ProviderConfig):
    TYPE = ProviderType.SMTP
    CHANNEL = Channel.EMAIL
    SECRET_FIELDS = ("password",)

    host: _NonEmpty
    port: int = Field(587, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str = ""
    password: str = ""
    timeout_seconds: float = Field(10.0, gt=0, le=120)
    verify_certificates: bool = True
    ca_certificate_pem: str | None = Field(None, description="Trust this CA (PEM) besides the system store.")

    @model_validator(mode="after")
    def _auth_pair(self) -> SmtpProviderConfig:
        if bool(self.username) != bool(self.password):
            raise ValueError("username and password go together")
        return self


class SesProviderConfig(ProviderConfig):
    TYPE = ProviderType.SES
    CHANNEL = Channel.EMAIL
    SECRET_FIELDS = ("secret_access_key", "session_token")

    region: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]
    access_key_id: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{16,128}$")]
    secret_access_key: _NonEmpty
    session_token: str | None = None
    configuration_set_name: str | None = None
    endpoint_url: _Url | None = Field(None, description="Defaults to https://email.<region>.amazonaws.com")
    webhook_topic_arns: list[str] = Field(
        default_factory=list, description="SNS topics whose notifications (and subscription confirmations) we accept."
    )


class SendGridProviderConfig(ProviderConfig):
    TYPE = ProviderType.SENDGRID
    CHANNEL = Channel.EMAIL
    SECRET_FIELDS = ("api_key",)

    api_key: _NonEmpty
    base_url: _Url = "https://api.sendgrid.com"
    webhook_verification_key: str | None = Field(
        None, description="The signed Event Webhook's public key (base64 DER, ECDSA P-256) from SendGrid."
    )


class PostmarkProviderConfig(ProviderConfig):
    TYPE = ProviderType.POSTMARK
    CHANNEL = Channel.EMAIL
    SECRET_FIELDS = ("server_token", "webhook_password")

    server_token: _NonEmpty
    message_stream: str = "outbound"
    base_url: _Url = "https://api.postmarkapp.com"
    webhook_username: str | None = None
    webhook_password: str | None = None

    @model_validator(mode="after")
    def _webhook_pair(self) -> PostmarkProviderConfig:
        if bool(self.webhook_username) != bool(self.webhook_password):
            raise ValueError("webhook_username and webhook_password go together")
        return self


class MailgunProviderConfig(ProviderConfig):
    TYPE = ProviderType.MAILGUN
    CHANNEL = Channel.EMAIL
    SECRET_FIELDS = ("api_key", "webhook_signing_key")

    domain: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$", max_length=253)]
    api_key: _NonEmpty
    region: Literal["us", "eu"] = "us"
    base_url: _Url | None = Field(None, description="Defaults to the region's https://api(.eu).mailgun.net")
    webhook_signing_key: str | None = None


class TwilioProviderConfig(ProviderConfig):
    TYPE = ProviderType.TWILIO
    CHANNEL = Channel.SMS
    SECRET_FIELDS = ("auth_token",)

    account_sid: Annotated[str, StringConstraints(pattern=r"^AC[0-9a-fA-F]{32}$")]
    auth_token: _NonEmpty
    from_number: Annotated[str, StringConstraints(pattern=r"^\+[1-9]\d{6,14}$")] | None = None
    messaging_service_sid: Annotated[str, StringConstraints(pattern=r"^MG[0-9a-fA-F]{32}$")] | None = None
    base_url: _Url = "https://api.twilio.com"
    status_callback_url: _Url | None = None

    @model_validator(mode="after")
    def _sender(self) -> TwilioProviderConfig:
        if not (self.from_number or self.messaging_service_sid):
            raise ValueError("from_number or messaging_service_sid is required")
        return self


class FcmProviderConfig(ProviderConfig):
    TYPE = ProviderType.FCM
    CHANNEL = Channel.PUSH
    SECRET_FIELDS = ("private_key",)

    project_id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{4,61}[a-z0-9]$")]
    client_email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")]
    private_key: Annotated[str, StringConstraints(pattern=r"-----BEGIN (RSA )?PRIVATE KEY-----")]
    private_key_id: str | None = None
    token_uri: _Url = "https://oauth2.googleapis.com/token"
    base_url: _Url = "https://fcm.googleapis.com"


CONFIG_SCHEMAS: dict[ProviderType, type[ProviderConfig]] = {
    schema.TYPE: schema
    for schema in (
        SmtpProviderConfig,
        SesProviderConfig,
        SendGridProviderConfig,
        PostmarkProviderConfig,
        MailgunProviderConfig,
        TwilioProviderConfig,
        FcmProviderConfig,
    )
}


def channel_of(provider_type: ProviderType) -> Channel:
    return CONFIG_SCHEMAS[provider_type].CHANNEL


def parse_config(provider_type: ProviderType, raw: dict[str, Any]) -> ProviderConfig:
    """Validate a configuration for its provider type (raises pydantic.ValidationError)."""
    return CONFIG_SCHEMAS[provider_type].model_validate(raw)
