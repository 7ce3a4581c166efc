"""Secrets at rest and sealed tokens, all derived from one master key (MAUNTIC_SECRET_KEY).

Provider credentials and DKIM private keys are encrypted with Fernet (AES-128-CBC + HMAC-SHA256); one-click
unsubscribe tokens are sealed with ChaCha20-Poly1305 (compact, and the recipient's address stays unreadable in
the URL). Each use gets its own key, derived with HKDF from the master key, so no key serves two purposes.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12


class SecretDecryptionError(ValueError):
    """Stored ciphertext does not open with this master key (the key changed, or the value was tampered with)."""


def derive_key(master: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"mauntic", info=purpose.encode()).derive(master.encode())


class SecretBox:
    def __init__(self, master_key: str) -> None:
        if len(master_key) < 32:
            raise ValueError("the master secret key must be at least 32 characters")
        self._fernet = Fernet(base64.urlsafe_b64encode(derive_key(master_key, "secrets-at-rest")))
        self._master = master_key
        self._sealers: dict[str, ChaCha20Poly1305] = {}

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

    def seal(self, purpose: str, plaintext: bytes) -> bytes:
        """Encrypt and authenticate (ChaCha20-Poly1305, random nonce) under a key for this purpose only: what
        goes in cannot be read or changed without the master key. 28 bytes longer than the plaintext."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._sealer(purpose).encrypt(nonce, plaintext, None)

    def unseal(self, purpose: str, sealed: bytes) -> bytes:
        """The plaintext of `seal`; SecretDecryptionError when it was not sealed under this key and purpose."""
        if len(sealed) < _NONCE_BYTES + 16:
            raise SecretDecryptionError("sealed value too short")
        try:
            return self._sealer(purpose).decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], None)
        except InvalidTag as exc:
            raise SecretDecryptionError("sealed value does not open with this key") from exc

    def _sealer(self, purpose: str) -> ChaCha20Poly1305:
        sealer = self._sealers.get(purpose)
        if sealer is None:
            sealer = self._sealers[purpose] = ChaCha20Poly1305(derive_key(self._master, f"seal:{purpose}"))
        return sealer
