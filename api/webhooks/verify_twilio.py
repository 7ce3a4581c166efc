"""Twilio's X-Twilio-Signature: base64 HMAC-SHA1, keyed with the auth token, of the full URL Twilio called
followed by every POST parameter as name + value, in name order (values of a repeated name in value order).

The URL is the public one (settings.public_url + path + query), since the API may sit behind a proxy. As Twilio's
own libraries do, the URL is also tried with its default port written out, and without the port it carried.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from api.webhooks.errors import invalid_signature, missing_signature

SIGNATURE_HEADER = "x-twilio-signature"
_DEFAULT_PORTS = {"https": 443, "http": 80}


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    signed = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def url_variants(url: str) -> list[str]:
    """The URL as given, without its port, and with the scheme's default port."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    variants = [url]
    if parts.port is not None:
        variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}")))
    elif parts.scheme in _DEFAULT_PORTS:
        variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}:{_DEFAULT_PORTS[parts.scheme]}")))
    return variants


def verify_twilio(auth_token: str, url: str, params: list[tuple[str, str]], signature: str | None) -> None:
    if not signature:
        raise missing_signature(f"send {SIGNATURE_HEADER}")
    for candidate in url_variants(url):
        if hmac.compare_digest(twilio_signature(auth_token, candidate, params).encode(), signature.encode()):
            return
    raise invalid_signature()
