"""One-click unsubscribe tokens (RFC 8058): opaque, authenticated, per recipient and message.

A token is base64url(sealed payload). The payload packs a version byte, the issue time (uint32 seconds), a channel
code and the NUL-separated workspace id, address and message-log id. It is sealed (encrypted and authenticated)
by an injected `Seal` and opened by the matching `Unseal` (`SecretBox.seal`/`unseal` bound to the purpose
"unsubscribe"), so no key is handled here and the URL does not show whom it unsubscribes. A typical email token is
about 170 characters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

Seal = Callable[[bytes], bytes]
"""Encrypts and authenticates a payload under the unsubscribe key (`functools.partial(box.seal, PURPOSE)`)."""
Unseal = Callable[[bytes], bytes]
"""Opens a sealed payload; raises ValueError (or a subclass) when it was not sealed under that key."""

PURPOSE = "unsubscribe"
_VERSION = 1
_HEADER = struct.Struct(">BIB")  # version, issued-at seconds, channel code
_SEPARATOR = b"\x00"
_CHANNEL_CODES = {"email": 1, "sms": 2, "push": 3}
_CHANNELS = {code: name for name, code in _CHANNEL_CODES.items()}
MAX_TOKEN_CHARS = 1024  # anything longer is not one of ours; refuse before decoding


class InvalidUnsubscribeToken(ValueError):
    """The token is not one we issued: garbage, truncated, tampered with, or signed with another key."""


@dataclass(frozen=True)
class UnsubscribeClaim:
    workspace_id: str
    channel: str
    address: str
    message_log_id: str | None
    issued_at: datetime

    def fingerprint(self) -> str:
        """Stable id of this claim, whatever spelling of its token was presented (for de-duplication)."""
        fields = (self.workspace_id, self.channel, self.address, self.message_log_id or "", self.issued_at.isoformat())
        return hashlib.sha256("\x00".join(fields).encode()).hexdigest()


def _check_field(name: str, value: str) -> bytes:
    encoded = value.encode()
    if not encoded or _SEPARATOR in encoded:
        raise ValueError(f"{name} must be a non-empty string without NUL characters")
    return encoded


def encode(claim: UnsubscribeClaim, seal: Seal) -> str:
    if claim.channel not in _CHANNEL_CODES:
        raise ValueError(f"unknown channel {claim.channel!r}")
    issued = int(claim.issued_at.timestamp())
    fields = [
        _check_field("workspace_id", claim.workspace_id),
        _check_field("address", claim.address),
        _check_field("message_log_id", claim.message_log_id) if claim.message_log_id else b"",
    ]
    payload = _HEADER.pack(_VERSION, issued, _CHANNEL_CODES[claim.channel]) + _SEPARATOR.join(fields)
    return base64.urlsafe_b64encode(seal(payload)).rstrip(b"=").decode("ascii")


def _unbase64(token: str) -> bytes:
    if not token or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise InvalidUnsubscribeToken("malformed token")
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidUnsubscribeToken("malformed token") from exc


def decode(token: str, unseal: Unseal) -> UnsubscribeClaim:
    """The claim of a token we issued; InvalidUnsubscribeToken for anything else."""
    try:
        payload = unseal(_unbase64(token))
    except ValueError as exc:
        raise InvalidUnsubscribeToken("bad signature: not a token of ours") from exc
    if len(payload) <= _HEADER.size:
        raise InvalidUnsubscribeToken("unsupported token")
    version, issued, channel_code = _HEADER.unpack_from(payload)
    parts = payload[_HEADER.size :].split(_SEPARATOR)
    if version != _VERSION or channel_code not in _CHANNELS or len(parts) != 3:
        raise InvalidUnsubscribeToken("unsupported token")
    try:
        workspace_id, address, message_log_id = (part.decode() for part in parts)
    except UnicodeDecodeError as exc:
        raise InvalidUnsubscribeToken("unsupported token") from exc
    if not workspace_id or not address:
        raise InvalidUnsubscribeToken("unsupported token")
    return UnsubscribeClaim(
        workspace_id=workspace_id,
        channel=_CHANNELS[channel_code],
        address=address,
        message_log_id=message_log_id or None,
        issued_at=datetime.fromtimestamp(issued, UTC),
    )
