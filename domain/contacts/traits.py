"""Mapping Segment-style traits onto a contact's columns; everything else is a custom attribute."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Segment reserved traits (camelCase on the wire) and the snake_case the REST API uses.
_COLUMN_TRAITS = {
    "email": "email",
    "phone": "phone",
    "firstName": "first_name",
    "first_name": "first_name",
    "lastName": "last_name",
    "last_name": "last_name",
    "timezone": "timezone",
    "time_zone": "timezone",
}
_MAX_COLUMN_LENGTH = {"email": 320, "phone": 32, "first_name": 200, "last_name": 200, "timezone": 64}


@dataclass
class TraitSplit:
    columns: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)


def is_valid_timezone(name: str) -> bool:
    if not name or len(name) > 64:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def split_traits(traits: dict[str, Any]) -> TraitSplit:
    """Known traits with a usable string value go to columns; the rest (and unusable values) stay attributes."""
    split = TraitSplit()
    for key, value in traits.items():
        column = _COLUMN_TRAITS.get(key)
        usable = isinstance(value, str) and 0 < len(value) <= _MAX_COLUMN_LENGTH.get(column or "", 0)
        if column == "timezone" and usable:
            usable = is_valid_timezone(value)
        if column and usable:
            split.columns[column] = value.strip()
        else:
            split.attributes[key] = value
    return split


def trait_column(name: str) -> str | None:
    """The contact column a trait name writes (`firstName` -> `first_name`), or None for a custom attribute."""
    return _COLUMN_TRAITS.get(name)
