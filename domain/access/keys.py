"""API keys and ingestion write keys: generated once, shown once, stored as SHA-256 digests.

The secrets are 256-bit random tokens, so a fast digest is safe (no dictionary to attack) and lets a lookup
by digest hit a unique index; the final comparison is constant-time anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum

API_KEY_PREFIX = "mk_"
WRITE_KEY_PREFIX = "wk_"


class Scope(StrEnum):
    ADMIN = "admin"
    CONTACTS_READ = "contacts:read"
    CONTACTS_WRITE = "contacts:write"
    JOURNEYS_READ = "journeys:read"
    JOURNEYS_WRITE = "journeys:write"
    EVENTS_WRITE = "events:write"
    DELIVERY_READ = "delivery:read"
    DELIVERY_WRITE = "delivery:write"
    SEGMENTS_READ = "segments:read"
    SEGMENTS_WRITE = "segments:write"


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def digest_matches(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_digest)


def grants(held: list[str], required: Scope) -> bool:
    return Scope.ADMIN.value in held or required.value in held
