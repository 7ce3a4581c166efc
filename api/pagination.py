"""Cursor pages: fetch one row more than asked to learn whether another page follows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar


class HasId(Protocol):
    @property
    def id(self) -> str: ...


Item = TypeVar("Item", bound=HasId)


def page_of(rows: Sequence[Item], limit: int) -> tuple[list[Item], str | None]:
    """The first `limit` rows and the cursor of the next page (None on the last), from `limit + 1` fetched rows."""
    page = list(rows[:limit])
    return page, (page[-1].id if len(rows) > limit else None)
