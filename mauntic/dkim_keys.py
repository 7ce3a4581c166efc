"""DKIM key material of sending domains: RSA 2048 key pairs and selectors.

The private key is kept as PEM encrypted with the SecretBox; the public key as base64 DER (SubjectPublicKeyInfo),
which is exactly the `p=` value of the DKIM TXT record.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mauntic.secrets import SecretBox

DKIM_KEY_BITS = 2048
SELECTOR_PREFIX = "mtc"


@dataclass(frozen=True)
class DkimKeyPair:
    selector: str
    encrypted_private_key: str  # SecretBox ciphertext of the PKCS#8 PEM
    public_key_b64: str  # base64 DER SubjectPublicKeyInfo


def new_selector(created: datetime) -> str:
    """`mtc` + creation month + a random suffix: chosen once per domain and stored, so it stays stable; a domain
    deleted and added again gets a fresh selector, never colliding with a cached old key."""
    return f"{SELECTOR_PREFIX}{created:%Y%m}{secrets.token_hex(3)}"


def generate_key_pair(box: SecretBox, created: datetime, bits: int = DKIM_KEY_BITS) -> DkimKeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return DkimKeyPair(
        selector=new_selector(created),
        encrypted_private_key=box.encrypt(private_pem),
        public_key_b64=base64.b64encode(public_der).decode(),
    )


def private_key_pem(box: SecretBox, encrypted_private_key: str) -> bytes:
    """The PEM the DKIM signer takes (raises SecretDecryptionError when the master key changed)."""
    return box.decrypt(encrypted_private_key).encode()
