"""Unsubscribe links for the send path: the sealed token (domain.delivery.unsubscribe) keyed by the SecretBox."""

from __future__ import annotations

from functools import partial

from domain.clock import utcnow
from domain.delivery import unsubscribe
from domain.delivery.unsubscribe import UnsubscribeClaim
from mauntic.secrets import SecretBox

UNSUBSCRIBE_PATH = "/u/"


def unsubscribe_url(
    secrets: SecretBox, base_url: str, *, workspace_id: str, channel: str, address: str, message_log_id: str | None
) -> str:
    """The one-click URL for one recipient of one message: `{base_url}/u/{token}` (base_url: settings.api_base_url)."""
    claim = UnsubscribeClaim(
        workspace_id=workspace_id,
        channel=channel,
        address=address,
        message_log_id=message_log_id,
        issued_at=utcnow(),
    )
    return (
        base_url.rstrip("/") + UNSUBSCRIBE_PATH + unsubscribe.encode(claim, partial(secrets.seal, unsubscribe.PURPOSE))
    )


def read_unsubscribe_token(secrets: SecretBox, token: str) -> UnsubscribeClaim:
    """The claim of a token we issued; domain.delivery.unsubscribe.InvalidUnsubscribeToken otherwise."""
    return unsubscribe.decode(token, partial(secrets.unseal, unsubscribe.PURPOSE))
