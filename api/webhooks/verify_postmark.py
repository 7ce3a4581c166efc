"""Postmark webhooks authenticate with HTTP Basic credentials set on the webhook URL; compared in constant time."""

from __future__ import annotations

import base64
import hmac

from api.webhooks.errors import invalid_signature, missing_signature, not_configured

CHALLENGE = 'Basic realm="mauntic webhooks", charset="UTF-8"'  # what a 401 answers (RFC 7617)


def verify_postmark(username: str | None, password: str | None, authorization: str | None) -> None:
    if not username or not password:
        raise not_configured("set the provider's webhook_username and webhook_password (Postmark basic auth)")
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise missing_signature("send the webhook credentials as HTTP Basic authorization", challenge=CHALLENGE)
    try:
        user, separator, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except ValueError:  # binascii.Error, non-ASCII text, UnicodeDecodeError
        raise invalid_signature("the Basic credentials are not valid base64", challenge=CHALLENGE) from None
    user_ok = hmac.compare_digest(user.encode(), username.encode())
    password_ok = hmac.compare_digest(secret.encode(), password.encode())
    if not (separator and user_ok and password_ok):
        raise invalid_signature("the webhook credentials do not match", challenge=CHALLENGE)
