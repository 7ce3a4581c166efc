"""DKIM key records (RFC 6376 §3.6.1): tag=value lists and the size of the RSA key they publish."""

from __future__ import annotations

import base64
import binascii
import re

MIN_KEY_BITS = 1024
_WHITESPACE = re.compile(r"\s+")


def parse_tags(record: str) -> dict[str, str]:
    """Tags of a `tag=value; ...` list; whitespace around tags and inside values (as in p=) is dropped."""
    tags: dict[str, str] = {}
    for part in record.split(";"):
        name, found, value = part.partition("=")
        if found and name.strip():
            tags.setdefault(name.strip().lower(), _WHITESPACE.sub("", value))
    return tags


def is_dkim_key_record(record: str) -> bool:
    """A key record: v=DKIM1 when present (it must come first), and a p= tag."""
    tags = parse_tags(record)
    return "p" in tags and tags.get("v", "DKIM1") == "DKIM1"


def rsa_key_bits(public_key_b64: str) -> int | None:
    """Modulus size of a base64 RSA public key (SubjectPublicKeyInfo or bare RSAPublicKey DER); None if unreadable."""
    try:
        der = base64.b64decode(public_key_b64, validate=True)
        return _modulus_bits(der)
    except (binascii.Error, ValueError, IndexError):
        return None


def _read(der: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at offset."""
    tag = der[offset]
    length = der[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(der[start : start + count], "big")
        start += count
    end = start + length
    if end > len(der):
        raise ValueError("truncated DER")
    return tag, start, end


SEQUENCE, INTEGER, BIT_STRING = 0x30, 0x02, 0x03


def _modulus_bits(der: bytes) -> int:
    tag, start, _ = _read(der, 0)
    if tag != SEQUENCE:
        raise ValueError("not a DER sequence")
    first, first_start, first_end = _read(der, start)
    if first == SEQUENCE:  # SubjectPublicKeyInfo: algorithm, then the key as a BIT STRING
        bits_tag, bits_start, _ = _read(der, first_end)
        if bits_tag != BIT_STRING:
            raise ValueError("no key bit string")
        return _modulus_bits(der[bits_start + 1 :])  # skip the unused-bits byte
    if first != INTEGER:
        raise ValueError("not an RSA public key")
    modulus = int.from_bytes(der[first_start:first_end], "big")
    return modulus.bit_length()
