"""How every delivery adapter reports failure: permanent (never retry, never fail over) or transient."""

from __future__ import annotations


class DeliveryError(Exception):
    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class PermanentDeliveryError(DeliveryError):
    """The message can never succeed as addressed: invalid recipient, rejected sender, bad content, 5xx SMTP."""


class TransientDeliveryError(DeliveryError):
    """Worth retrying later (or on another provider): timeouts, connection errors, 429, 5xx HTTP, 4xx SMTP.
    `retry_after` carries the provider's Retry-After in seconds when it sent one. `provider_fault` is False when
    the trouble is the recipient's (a greylisting or full mailbox 4xx): it does not count against the provider's
    circuit breaker."""

    def __init__(
        self, message: str, *, code: str | None = None, retry_after: float | None = None, provider_fault: bool = True
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
        self.provider_fault = provider_fault


class UncertainDeliveryError(DeliveryError):
    """The provider may have taken the message: the request went out and its answer was lost (a read timeout,
    the connection dropped after the end of DATA) or could not be read. Retrying, here or on another provider,
    could deliver it twice, so it is neither retried nor failed over; the message log keeps it as `uncertain`."""


class ProviderConfigurationError(DeliveryError):
    """Our side is wrong for this provider (rejected credentials, unverified sender identity, suspended account):
    no message passes it until someone fixes the configuration. Not the message's fault, so the chain fails over
    to the next provider, and the circuit breaker counts it."""
