"""Links of the consent center (domain.consent.tokens) sealed by the SecretBox: the preference page and the double
opt-in confirmation. Used by the API (confirmation emails, the page) and the send composer (`{{ preferences_url }}`)."""

from __future__ import annotations

from functools import partial

from domain.clock import utcnow
from domain.consent import tokens
from domain.consent.tokens import ConsentClaim, TokenKind
from mauntic.secrets import SecretBox

PREFERENCES_PATH = "/preferences/"
CONFIRM_PATH = "/consent/confirm/"


def _token(secrets: SecretBox, kind: TokenKind, workspace_id: str, contact_id: str, channel: str = "") -> str:
    claim = ConsentClaim(kind, workspace_id, contact_id, channel, utcnow())
    return tokens.encode(claim, partial(secrets.seal, tokens.PURPOSE))


def preferences_url(secrets: SecretBox, base_url: str, workspace_id: str, contact_id: str) -> str:
    return base_url.rstrip("/") + PREFERENCES_PATH + _token(secrets, TokenKind.PREFERENCES, workspace_id, contact_id)


def confirm_url(secrets: SecretBox, base_url: str, workspace_id: str, contact_id: str, channel: str) -> str:
    token = _token(secrets, TokenKind.CONFIRM, workspace_id, contact_id, channel)
    return base_url.rstrip("/") + CONFIRM_PATH + token


def read_token(secrets: SecretBox, token: str, kind: TokenKind) -> ConsentClaim:
    """The claim of a live token of this kind; domain.consent.tokens.InvalidConsentToken (or Expired...) otherwise."""
    return tokens.decode(token, partial(secrets.unseal, tokens.PURPOSE), kind, utcnow())
