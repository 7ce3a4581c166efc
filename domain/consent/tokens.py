"""Sealed links of the consent center: the preference page and the double opt-in confirmation.

Like the one-click unsubscribe tokens (domain/delivery/unsubscribe.py), a token is base64url of a payload sealed
(encrypted and authenticated) by an injected `Seal`, so no key is handled here and the URL does not show whose it is.
The payload is a version byte, the kind, the issue time and the NUL-separated workspace id, contact id and channel.
A token carries its issue time: the reader refuses one older than its kind's lifetime.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum

Seal = Callable[[bytes], bytes]
Unseal = Callable[[bytes], bytes]

PURPOSE = "consent"
_VERSION = 1
_HEADER = struct.Struct(">BBI")  # version, kind, issued-at seconds
_SEPARATOR = b"\x00"
MAX_TOKEN_CHARS = 1024


class TokenKind(IntEnum):
    PREFERENCES = 1
    CONFIRM = 2


LIFETIMES = {TokenKind.PREFERENCES: timedelta(days=90), TokenKind.CONFIRM: timedelta(days=7)}


class InvalidConsentToken(ValueError):
    """Not a token we issued (garbage, truncated, tampered with, another key or another kind)."""


class ExpiredConsentToken(InvalidConsentToken):
    """A token of ours, past its lifetime."""


@dataclass(frozen=True)
class ConsentClaim:
    kind: TokenKind
    workspace_id: str
    contact_id: str
    channel: str
    issued_at: datetime


def encode(claim: ConsentClaim, seal: Seal) -> str:
    fields = [claim.workspace_id.encode(), claim.contact_id.encode(), claim.channel.encode()]
    if not fields[0] or not fields[1] or any(_SEPARATOR in field for field in fields):
        raise ValueError("workspace and contact ids must be non-empty and free of NUL")
    payload = _HEADER.pack(_VERSION, claim.kind, int(claim.issued_at.timestamp())) + _SEPARATOR.join(fields)
    return base64.urlsafe_b64encode(seal(payload)).rstrip(b"=").decode("ascii")


def decode(token: str, unseal: Unseal, kind: TokenKind, now: datetime) -> ConsentClaim:
    """The claim of a token of this kind we issued and that has not expired; InvalidConsentToken otherwise."""
    if not token or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise InvalidConsentToken("malformed token")
    try:
        sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = unseal(sealed)
    except (binascii.Error, ValueError) as exc:
        raise InvalidConsentToken("not a token of ours") from exc
    if len(payload) <= _HEADER.size:
        raise InvalidConsentToken("unsupported token")
    version, raw_kind, issued = _HEADER.unpack_from(payload)
    parts = payload[_HEADER.size :].split(_SEPARATOR)
    if version != _VERSION or raw_kind != kind or len(parts) != 3:
        raise InvalidConsentToken("unsupported token")
    try:
        workspace_id, contact_id, channel = (part.decode() for part in parts)
    except UnicodeDecodeError as exc:
        raise InvalidConsentToken("unsupported token") from exc
    issued_at = datetime.fromtimestamp(issued, UTC)
    if now - issued_at > LIFETIMES[kind]:
        raise ExpiredConsentToken("this link has expired")
    return ConsentClaim(kind, workspace_id, contact_id, channel, issued_at)
