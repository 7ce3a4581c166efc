"""Mailgun webhook signatures: `signature.signature` is hex HMAC-SHA256, keyed with the webhook signing key, of
`signature.timestamp + signature.token`. The signature does not cover the body: the token is bound to the first
body it came with (the caller claims it: see store/webhook_nonces.py), so it cannot be reused with a forged one,
and the timestamp must be recent enough."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from api.webhooks.errors import (
    STALE_AFTER_SECONDS,
    check_fresh,
    invalid_signature,
    missing_signature,
    not_configured,
    parse_timestamp,
)

# Mailgun retries a webhook answered with anything but 200 or 406 "during 8 hours", after 5 min, 10 min, 15 min,
# 1 h, 2 h and 4 h (https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/webhook-retries). A retry
# may carry the first attempt's signature, so a timestamp is accepted for that long, with an hour to spare.
MAX_AGE_SECONDS = 9 * 3600
# A token is kept while a request carrying it could be accepted: its age limit, plus the clock skew allowed ahead.
TOKEN_KEEP_SECONDS = MAX_AGE_SECONDS + STALE_AFTER_SECONDS


@dataclass(frozen=True)
class MailgunToken:
    token: str
    timestamp: float


def verify_mailgun(signing_key: str | None, body: Any, now: float) -> MailgunToken:
    if not signing_key:
        raise not_configured("set the provider's webhook_signing_key (Mailgun's HTTP webhook signing key)")
    block = body.get("signature") if isinstance(body, dict) else None
    if not isinstance(block, dict) or not all(isinstance(block.get(k), str | int) for k in ("timestamp", "token")):
        raise missing_signature("the body has no `signature` object with timestamp, token and signature")
    signature = block.get("signature")
    if not isinstance(signature, str) or not signature:
        raise missing_signature("the body's `signature` object has no signature")
    timestamp, token = str(block["timestamp"]), str(block["token"])
    expected = hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise invalid_signature()
    signed_at = parse_timestamp(timestamp)
    check_fresh(signed_at, now, max_age=MAX_AGE_SECONDS)
    if not token or len(token) > 255:
        raise invalid_signature("the token must be 1 to 255 characters")
    return MailgunToken(token, signed_at)
