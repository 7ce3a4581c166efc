"""Cursor pages, written once: `Page[T]`, the `Cursor` query parameter and `page_of`.

Lists are keyset-paginated on the row id: fetch one row more than asked to learn whether another page follows.
The cursor a client sees is opaque: the id with a short checksum, base64url-encoded. A cursor this API did not
return (`cursor=garbage`, a truncated copy) therefore fails to decode and is a 422 `invalid_cursor`, rather than a
silently empty page that looks like the end of the list.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from typing import Annotated, Generic, Protocol, TypeVar

from fastapi import Query
from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from api.errors import INVALID_CURSOR, Unprocessable

_CHECK_BYTES = 4

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last page.")


def _check(raw: bytes) -> bytes:
    return hashlib.blake2s(raw, digest_size=_CHECK_BYTES, person=b"mcursor").digest()


def encode_cursor(position: str) -> str:
    raw = position.encode()
    return base64.urlsafe_b64encode(raw + _check(raw)).rstrip(b"=").decode()


def decode_cursor(token: str) -> str:
    """The position a cursor of `encode_cursor` carries; PydanticCustomError when it is not one."""
    try:
        blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        raw, check = blob[:-_CHECK_BYTES], blob[-_CHECK_BYTES:]
        if len(blob) <= _CHECK_BYTES or _check(raw) != check:
            raise ValueError("checksum")
        return raw.decode()
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise PydanticCustomError(INVALID_CURSOR, "cursor is not one this API returned") from exc


def _decoded(token: str | None) -> str | None:
    return None if token is None else decode_cursor(token)


Cursor = Annotated[
    str | None,
    Query(max_length=128, description="`next_cursor` of the previous page"),
    AfterValidator(_decoded),
]

# A cursor carrying a Temporal visibility page token (a few hundred characters, opaque like the others).
TokenCursor = Annotated[
    str | None,
    Query(max_length=2048, description="`next_cursor` of the previous page"),
    AfterValidator(_decoded),
]


class HasId(Protocol):
    @property
    def id(self) -> str | int | None: ...


Row = TypeVar("Row", bound=HasId)


def page_of(rows: Sequence[Row], limit: int) -> tuple[list[Row], str | None]:
    """The first `limit` rows and the cursor of the next page (None on the last), from `limit + 1` fetched rows."""
    page = list(rows[:limit])
    return page, (encode_cursor(str(page[-1].id)) if len(rows) > limit else None)


def row_number(cursor: str | None) -> int | None:
    """The position of a list keyed on an integer id; a hand-built cursor carrying anything else is refused."""
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise Unprocessable("cursor is not one this API returned", code=INVALID_CURSOR)
    return int(cursor)
