"""Secrets at rest and signing keys, all derived from one master key (MAUNTIC_SECRET_KEY).

Provider credentials and DKIM private keys are encrypted with Fernet (AES-128-CBC + HMAC-SHA256); one-click
unsubscribe tokens are signed with HMAC-SHA256. Each use gets its own key, derived with HKDF from the master key,
so no key serves two purposes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretDecryptionError(Exception):
    """Stored ciphertext does not open with this master key (the key changed, or the value was tampered with)."""


def derive_key(master: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"mauntic", info=purpose.encode()).derive(master.encode())


class SecretBox:
    def __init__(self, master_key: str) -> None:
        if len(master_key) < 32:
            raise ValueError("the master secret key must be at least 32 characters")
        self._fernet = Fernet(base64.urlsafe_b64encode(derive_key(master_key, "secrets-at-rest")))
        self._signing = derive_key(master_key, "signing")

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise SecretDecryptionError("stored secret does not decrypt with the configured key") from exc

    def encrypt_json(self, values: dict[str, Any]) -> str:
        return self.encrypt(json.dumps(values, separators=(",", ":"))) if values else ""

    def decrypt_json(self, ciphertext: str) -> dict[str, Any]:
        if not ciphertext:
            return {}
        value: dict[str, Any] = json.loads(self.decrypt(ciphertext))
        return value

    def sign(self, purpose: str, payload: bytes) -> bytes:
        """HMAC-SHA256 of payload under a key for this purpose only."""
        key = hmac.new(self._signing, purpose.encode(), hashlib.sha256).digest()
        return hmac.new(key, payload, hashlib.sha256).digest()
