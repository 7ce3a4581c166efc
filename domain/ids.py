"""Time-ordered identifiers: `<prefix>_<26 chars>`, sortable as strings, so cursors are plain ids."""

from __future__ import annotations

import base64
import os
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    millis = time.time_ns() // 1_000_000
    randomness = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{_encode(millis, 10)}{_encode(randomness, 16)}"


_B32_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode())


def new_ids(prefix: str, count: int) -> list[str]:
    """`count` ids as `new_id` makes them, for a batch: one clock read and one `os.urandom` call, the 80 random
    bits of each encoded by `base64.b32encode` (10 bytes are exactly 16 base32 characters, big-endian, so the same
    characters `_encode` gives) instead of a Python loop per character."""
    if count <= 0:
        return []
    head = f"{prefix}_{_encode(time.time_ns() // 1_000_000, 10)}"
    tails = base64.b32encode(os.urandom(10 * count)).translate(_B32_TO_CROCKFORD).decode()
    return [head + tails[i : i + 16] for i in range(0, 16 * count, 16)]


class IdBatch:
    """Ids handed out one at a time from batches of `new_ids` (a fresh batch, hence a fresh clock read, each time
    one runs out)."""

    def __init__(self, prefix: str, size: int = 4096) -> None:
        self._prefix = prefix
        self._size = size
        self._ids: list[str] = []

    def __call__(self) -> str:
        if not self._ids:
            self._ids = new_ids(self._prefix, self._size)
            self._ids.reverse()
        return self._ids.pop()
